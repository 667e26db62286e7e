// The small-k path (k <= gemmSmallK, n above the small-n path's): a rank-k update such as the
// gates' input gradient `dX = dG · Wᵀ` (k = the number of experts) or a tower's logit gradient
// (k = 1). The blocked kernel would pack A and B for a k-deep block and run every micro-tile for a
// handful of multiply-adds per element (128x3x127 NT ran at 7-14 GFLOP/s, 0.4-0.7x OpenBLAS, on a Zen 3).
// Here op(B) is copied once into k contiguous rows and every row of C is computed directly: per
// vector of columns, k broadcasts of op(A)'s row against op(B)'s rows, then the epilogue.
// NOTE: every element is the blocked kernel's exact sequence for a single k-block (k <= 8 is one
// block): an accumulator from zero, fused multiply-adds over k in order, then `alpha·acc
// (+ beta·C) (+ bias)`, ReLU. So which path computes a GEMM never changes a bit.

/// Largest k that takes the small-k path (when n is too wide for the small-n path).
@usableFromInline let gemmSmallK = 8

#if MMOE_AVX2
/// One vector of columns of C: a ymm register on AVX2.
private typealias SmallKVector = SIMD8<Float>
#else
/// One vector of columns of C: a zmm register (Zen 4 runs it as two halves, as it would two ymm).
private typealias SmallKVector = SIMD16<Float>
#endif

/// C = epilogue(op(A) · op(B)) for k <= `gemmSmallK` (bfloat16 rounding included).
func gemmSmallK(_ p: GEMMProblem, scratch: GEMMScratch) {
    if p.roundToBFloat16 {
        gemmSmallKCore(p, scratch: scratch, PackRoundBFloat16.self)
    } else {
        gemmSmallKCore(p, scratch: scratch, PackCopy.self)
    }
}

/// The small-k kernel over one problem; op(A) and op(B) go through `C.apply` as they are copied.
private func gemmSmallKCore<C: PackConversion>(_ p: GEMMProblem, scratch: GEMMScratch, _: C.Type) {
    let k = p.k, n = p.n
    precondition(k >= 1 && k <= gemmSmallK, "gemmSmallK: k = \(k)")
    // op(B) as k rows of n floats (n apart), then a block of op(A)'s rows, k floats each (in
    // blocks, so the scratch does not grow with m).
    let b = scratch.buffer(atLeast: k * n + smallKRowBlock * k)
    let a = b + k * n
    for q in 0..<k {
        let row = b + q * n
        if p.transB {
            for j in 0..<n { row[j] = C.apply(p.b[j * p.ldb + q]) }
        } else {
            let src = p.b + q * p.ldb
            for j in 0..<n { row[j] = C.apply(src[j]) }
        }
    }
    for i0 in stride(from: 0, to: p.m, by: smallKRowBlock) {
        let rows = min(smallKRowBlock, p.m - i0)
        for i in 0..<rows {
            for q in 0..<k { a[i * k + q] = C.apply(p.aAt(i0 + i, q).pointee) }
        }
        let block = p.block(rows: i0, rows, cols: 0, n)
        // A constant k (a generic specialisation per depth) unrolls each element's chain.
        switch k {
        case 1: smallKRows(block, a: a, b: b, SmallKDepth1.self)
        case 2: smallKRows(block, a: a, b: b, SmallKDepth2.self)
        case 3: smallKRows(block, a: a, b: b, SmallKDepth3.self)
        case 4: smallKRows(block, a: a, b: b, SmallKDepth4.self)
        case 5: smallKRows(block, a: a, b: b, SmallKDepth5.self)
        case 6: smallKRows(block, a: a, b: b, SmallKDepth6.self)
        case 7: smallKRows(block, a: a, b: b, SmallKDepth7.self)
        default: smallKRows(block, a: a, b: b, SmallKDepth8.self)
        }
    }
}

/// Rows of op(A) copied at a time.
private let smallKRowBlock = 256

/// k as a type, so that `smallKRows` is specialised (and its k-loop unrolled) for each depth.
private protocol SmallKDepth { static var k: Int { get } }
private enum SmallKDepth1: SmallKDepth { static var k: Int { 1 } }
private enum SmallKDepth2: SmallKDepth { static var k: Int { 2 } }
private enum SmallKDepth3: SmallKDepth { static var k: Int { 3 } }
private enum SmallKDepth4: SmallKDepth { static var k: Int { 4 } }
private enum SmallKDepth5: SmallKDepth { static var k: Int { 5 } }
private enum SmallKDepth6: SmallKDepth { static var k: Int { 6 } }
private enum SmallKDepth7: SmallKDepth { static var k: Int { 7 } }
private enum SmallKDepth8: SmallKDepth { static var k: Int { 8 } }

/// Every row of C from the copied operands: `a` (m x k, rows k apart) and `b` (k x n, rows n
/// apart). Column vectors of one row are independent chains, so consecutive ones overlap.
/// NOTE: the usual case (an input gradient: no bias, no ReLU) has loops of its own with the
/// epilogue's tests hoisted; with them inside, the taken branches (~4 per vector) were the limit.
private func smallKRows<D: SmallKDepth>(_ p: GEMMProblem, a: UnsafePointer<Float>, b: UnsafePointer<Float>, _: D.Type) {
    let k = D.k, n = p.n, width = SmallKVector.scalarCount
    let vectors = n / width
    let alpha = p.alpha, beta = p.beta, bias = p.bias, relu = p.relu
    /// Column vector j..<j+width of row `ai`'s product: the fused multiply-add chain from zero.
    @inline(__always) func chain(_ ai: UnsafePointer<Float>, _ j: Int) -> SmallKVector {
        var acc = SmallKVector()
        for q in 0..<k { acc.addProduct(SmallKVector(repeating: ai[q]), loadVector(b + q * n + j)) }
        return acc
    }
    for i in 0..<p.m {
        let ai = a + i * k, c = p.c + i * p.ldc
        if bias == nil && !relu {
            if beta == 0 {
                for v in 0..<vectors { storeVector(chain(ai, v * width) * alpha, c + v * width) }
            } else {
                for v in 0..<vectors {
                    let j = v * width
                    storeVector(chain(ai, j) * alpha + beta * loadVector(c + j), c + j)
                }
            }
        } else {
            for v in 0..<vectors {
                let j = v * width
                var out = chain(ai, j) * alpha
                if beta != 0 { out = out + beta * loadVector(c + j) }
                if let bias { out = out + loadVector(bias + j) }
                if relu { out.replace(with: 0, where: out .< 0) }
                storeVector(out, c + j)
            }
        }
        for j in (vectors * width)..<n {
            var acc: Float = 0
            for q in 0..<k { acc = acc.addingProduct(ai[q], b[q * n + j]) }
            gemmFinishElement(acc, c + j, p, j)
        }
    }
}

@inline(__always) private func loadVector(_ p: UnsafePointer<Float>) -> SmallKVector {
    UnsafeRawPointer(p).loadUnaligned(as: SmallKVector.self)
}

@inline(__always) private func storeVector(_ v: SmallKVector, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SmallKVector.self)
}
