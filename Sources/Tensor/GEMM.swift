/// Single-precision GEMM on row-major matrices:
///
///     C = act(alpha * op(A) * op(B) + beta * C + bias)
///
/// `op(A)` is `m x k`: A is stored `m x k` (row stride `lda >= k`) or, with `transA`, `k x m`
/// (`lda >= m`). Likewise `op(B)` is `k x n` from B stored `k x n` or, with `transB`, `n x k`.
/// `bias`, when given, has `n` elements added to every row of C; `relu` clamps the result at zero.
/// When `beta == 0`, C is write-only: its old contents (even NaN) never reach the result.
///
/// Results are bit-identical for any `threads`: threads split the output into disjoint blocks and
/// every element is accumulated over k in the same order whatever the split.
public func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                  a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                  beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
                  bias: UnsafePointer<Float>? = nil, relu: Bool = false,
                  threads: Int = Parallel.threads) {
    sgemmNaive(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
               b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, bias: bias, relu: relu)
}

/// `batch` independent GEMMs with the contract of `sgemm`; matrix `i` of A, B, C (and the bias)
/// starts `i * strideA` (`strideB`, `strideC`, `strideBias`) elements after the first. A stride of 0
/// shares one operand across the batch (the experts' common input).
public func sgemmBatched(batch: Int, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                         a: UnsafePointer<Float>, lda: Int, strideA: Int,
                         b: UnsafePointer<Float>, ldb: Int, strideB: Int,
                         beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int,
                         bias: UnsafePointer<Float>? = nil, strideBias: Int = 0, relu: Bool = false,
                         threads: Int = Parallel.threads) {
    for i in 0..<batch {
        sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
              a: a + i * strideA, lda: lda, b: b + i * strideB, ldb: ldb, beta: beta,
              c: c + i * strideC, ldc: ldc, bias: bias.map { $0 + i * strideBias }, relu: relu, threads: threads)
    }
}
