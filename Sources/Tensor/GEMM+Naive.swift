/// The reference GEMM: a plain triple loop with the exact contract of `sgemm`, accumulating in
/// Double. Tests compare the fast kernel against it; it is never used on a hot path.
public func sgemmNaive(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                       a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                       beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
                       bias: UnsafePointer<Float>? = nil, relu: Bool = false) {
    for i in 0..<m {
        for j in 0..<n {
            var acc = 0.0
            for p in 0..<k {
                let av = transA ? a[p * lda + i] : a[i * lda + p]
                let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                acc += Double(av) * Double(bv)
            }
            var v = Float(Double(alpha) * acc)
            if beta != 0 { v += beta * c[i * ldc + j] }
            if let bias { v += bias[j] }
            if relu { v = max(v, 0) }
            c[i * ldc + j] = v
        }
    }
}
