import Foundation

// Register tile: MR rows x NR columns of C live in 28 zmm accumulators (two SIMD16<Float> per row),
// plus two for the B row and one for the broadcast A element: 31 of the 32 AVX-512 registers.
// NOTE: the accumulators are spelled out as separate variables rather than an array or tuple so the
// optimiser keeps every one of them in a register; the inner loop is then only vmovups (2 loads of
// B), vbroadcastss (14 loads of A) and vfmadd231ps (28).

/// Rows of C per micro-tile (the height of a packed A panel).
@usableFromInline let gemmMR = 14
/// Columns of C per micro-tile (the width of a packed B panel): two 16-float vectors.
@usableFromInline let gemmNR = 32

/// How a micro-tile is merged into C once its partial product over one k-block is known.
/// `beta == 0` means C is not read; `bias`/`relu` are set only for the last k-block.
@usableFromInline struct GEMMEpilogue {
    var alpha: Float
    var beta: Float
    /// Bias of the tile's first column (NR readable elements), or nil.
    var bias: UnsafePointer<Float>?
    var relu: Bool
}

/// Merges one row (32 values) of a finished micro-tile into C: `alpha*acc (+ beta*C) (+ bias)`, ReLU.
/// The scalar edge paths of the small-n kernels use the same operation order, element by element.
@inline(__always)
func storeRow(_ x0: SIMD16<Float>, _ x1: SIMD16<Float>, _ c: UnsafeMutablePointer<Float>,
                      _ ep: GEMMEpilogue, _ b0: SIMD16<Float>, _ b1: SIMD16<Float>) {
    var v0 = x0 * ep.alpha
    var v1 = x1 * ep.alpha
    if ep.beta != 0 {
        v0 = v0 + ep.beta * load16(c)
        v1 = v1 + ep.beta * load16(c + 16)
    }
    if ep.bias != nil {
        v0 = v0 + b0
        v1 = v1 + b1
    }
    if ep.relu {
        v0.replace(with: 0, where: v0 .< 0)
        v1.replace(with: 0, where: v1 .< 0)
    }
    store16(v0, c)
    store16(v1, c + 16)
}

/// The micro-kernel: `C[0..<rows, 0..<NR] = epilogue(sum over p < kc of pa[p*MR + r] * pb[p*NR + j])`.
/// It always computes MR rows (the packed panel is zero-padded) but stores only the first `rows`, so
/// a bottom-edge tile writes straight into C.
/// `pa` is a packed A panel (kc x MR, k-major), `pb` a packed B panel (kc x NR, k-major). Every
/// accumulator sums its k-range strictly in order with fused multiply-adds, which is what makes the
/// result independent of where the tile sits in the matrix (and so of the thread split).
#if MMOE_AVX2
/// The micro-kernel on a CPU without AVX-512 (`MMOE_AVX2`, set by Package.swift for AVX2 targets):
/// the AVX-512 tile's 28 accumulators would be 56 ymm registers of the 16 AVX2 has, and spill on
/// every step (the GEMM ran at 0.35-0.46x OpenBLAS on a Zen 3). The same 14 x 32 tile over the same
/// packed panels, as four column strips of 8: each strip keeps 14 ymm accumulators, its B vector
/// and the broadcast A element in the 16 registers. Every element of C is the same sequence of
/// fused multiply-adds over k as in the AVX-512 kernel, merged by the same epilogue, so the
/// results are the same bits.
@inline(never)
@usableFromInline func sgemmMicroKernel(kc: Int, pa: UnsafePointer<Float>, pb: UnsafePointer<Float>,
                                        c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int = gemmMR, ep: GEMMEpilogue) {
    for strip in stride(from: 0, to: gemmNR, by: 8) {
        sgemmStrip8(kc: kc, pa: pa, pb: pb + strip, c: c + strip, ldc: ldc, rows: rows, ep: ep,
                    bias: ep.bias.map { $0 + strip })
    }
}

/// One 14 x 8 strip of the AVX2 micro-kernel: `pb` points at the strip's first column of a packed
/// B panel (rows of `gemmNR`).
@inline(__always)
func sgemmStrip8(kc: Int, pa: UnsafePointer<Float>, pb: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
                 rows: Int, ep: GEMMEpilogue, bias: UnsafePointer<Float>?) {
    var c0 = SIMD8<Float>(), c1 = SIMD8<Float>(), c2 = SIMD8<Float>(), c3 = SIMD8<Float>()
    var c4 = SIMD8<Float>(), c5 = SIMD8<Float>(), c6 = SIMD8<Float>(), c7 = SIMD8<Float>()
    var c8 = SIMD8<Float>(), c9 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
    var c12 = SIMD8<Float>(), c13 = SIMD8<Float>()
    var a = pa, b = pb
    for _ in 0..<kc {
        let bv = load8(b)
        c0.addProduct(SIMD8(repeating: a[0]), bv)
        c1.addProduct(SIMD8(repeating: a[1]), bv)
        c2.addProduct(SIMD8(repeating: a[2]), bv)
        c3.addProduct(SIMD8(repeating: a[3]), bv)
        c4.addProduct(SIMD8(repeating: a[4]), bv)
        c5.addProduct(SIMD8(repeating: a[5]), bv)
        c6.addProduct(SIMD8(repeating: a[6]), bv)
        c7.addProduct(SIMD8(repeating: a[7]), bv)
        c8.addProduct(SIMD8(repeating: a[8]), bv)
        c9.addProduct(SIMD8(repeating: a[9]), bv)
        c10.addProduct(SIMD8(repeating: a[10]), bv)
        c11.addProduct(SIMD8(repeating: a[11]), bv)
        c12.addProduct(SIMD8(repeating: a[12]), bv)
        c13.addProduct(SIMD8(repeating: a[13]), bv)
        a += 14; b += gemmNR
    }
    let b8 = bias.map { load8($0) } ?? SIMD8<Float>()
    storeRow8(c0, c, ep, b8)
    if rows > 1 { storeRow8(c1, c + 1 * ldc, ep, b8) }
    if rows > 2 { storeRow8(c2, c + 2 * ldc, ep, b8) }
    if rows > 3 { storeRow8(c3, c + 3 * ldc, ep, b8) }
    if rows > 4 { storeRow8(c4, c + 4 * ldc, ep, b8) }
    if rows > 5 { storeRow8(c5, c + 5 * ldc, ep, b8) }
    if rows > 6 { storeRow8(c6, c + 6 * ldc, ep, b8) }
    if rows > 7 { storeRow8(c7, c + 7 * ldc, ep, b8) }
    if rows > 8 { storeRow8(c8, c + 8 * ldc, ep, b8) }
    if rows > 9 { storeRow8(c9, c + 9 * ldc, ep, b8) }
    if rows > 10 { storeRow8(c10, c + 10 * ldc, ep, b8) }
    if rows > 11 { storeRow8(c11, c + 11 * ldc, ep, b8) }
    if rows > 12 { storeRow8(c12, c + 12 * ldc, ep, b8) }
    if rows > 13 { storeRow8(c13, c + 13 * ldc, ep, b8) }
}

/// `storeRow` for 8 values: the same operations in the same order, element by element.
@inline(__always)
func storeRow8(_ x: SIMD8<Float>, _ c: UnsafeMutablePointer<Float>, _ ep: GEMMEpilogue, _ b: SIMD8<Float>) {
    var v = x * ep.alpha
    if ep.beta != 0 { v = v + ep.beta * load8(c) }
    if ep.bias != nil { v = v + b }
    if ep.relu { v.replace(with: 0, where: v .< 0) }
    store8(v, c)
}
#else
@inline(never)
@usableFromInline func sgemmMicroKernel(kc: Int, pa: UnsafePointer<Float>, pb: UnsafePointer<Float>,
                                        c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int = gemmMR, ep: GEMMEpilogue) {
    var c0a = SIMD16<Float>(), c0b = SIMD16<Float>()
    var c1a = SIMD16<Float>(), c1b = SIMD16<Float>()
    var c2a = SIMD16<Float>(), c2b = SIMD16<Float>()
    var c3a = SIMD16<Float>(), c3b = SIMD16<Float>()
    var c4a = SIMD16<Float>(), c4b = SIMD16<Float>()
    var c5a = SIMD16<Float>(), c5b = SIMD16<Float>()
    var c6a = SIMD16<Float>(), c6b = SIMD16<Float>()
    var c7a = SIMD16<Float>(), c7b = SIMD16<Float>()
    var c8a = SIMD16<Float>(), c8b = SIMD16<Float>()
    var c9a = SIMD16<Float>(), c9b = SIMD16<Float>()
    var c10a = SIMD16<Float>(), c10b = SIMD16<Float>()
    var c11a = SIMD16<Float>(), c11b = SIMD16<Float>()
    var c12a = SIMD16<Float>(), c12b = SIMD16<Float>()
    var c13a = SIMD16<Float>(), c13b = SIMD16<Float>()
    var a = pa, b = pb
    for _ in 0..<kc {
        let b0 = load16(b), b1 = load16(b + 16)
        var av: SIMD16<Float>
        av = SIMD16(repeating: a[0]); c0a.addProduct(av, b0); c0b.addProduct(av, b1)
        av = SIMD16(repeating: a[1]); c1a.addProduct(av, b0); c1b.addProduct(av, b1)
        av = SIMD16(repeating: a[2]); c2a.addProduct(av, b0); c2b.addProduct(av, b1)
        av = SIMD16(repeating: a[3]); c3a.addProduct(av, b0); c3b.addProduct(av, b1)
        av = SIMD16(repeating: a[4]); c4a.addProduct(av, b0); c4b.addProduct(av, b1)
        av = SIMD16(repeating: a[5]); c5a.addProduct(av, b0); c5b.addProduct(av, b1)
        av = SIMD16(repeating: a[6]); c6a.addProduct(av, b0); c6b.addProduct(av, b1)
        av = SIMD16(repeating: a[7]); c7a.addProduct(av, b0); c7b.addProduct(av, b1)
        av = SIMD16(repeating: a[8]); c8a.addProduct(av, b0); c8b.addProduct(av, b1)
        av = SIMD16(repeating: a[9]); c9a.addProduct(av, b0); c9b.addProduct(av, b1)
        av = SIMD16(repeating: a[10]); c10a.addProduct(av, b0); c10b.addProduct(av, b1)
        av = SIMD16(repeating: a[11]); c11a.addProduct(av, b0); c11b.addProduct(av, b1)
        av = SIMD16(repeating: a[12]); c12a.addProduct(av, b0); c12b.addProduct(av, b1)
        av = SIMD16(repeating: a[13]); c13a.addProduct(av, b0); c13b.addProduct(av, b1)
        a += 14; b += 32
    }
    var bias0 = SIMD16<Float>(), bias1 = SIMD16<Float>()
    if let bias = ep.bias { bias0 = load16(bias); bias1 = load16(bias + 16) }
    storeRow(c0a, c0b, c + 0 * ldc, ep, bias0, bias1)
    if rows > 1 { storeRow(c1a, c1b, c + 1 * ldc, ep, bias0, bias1) }
    if rows > 2 { storeRow(c2a, c2b, c + 2 * ldc, ep, bias0, bias1) }
    if rows > 3 { storeRow(c3a, c3b, c + 3 * ldc, ep, bias0, bias1) }
    if rows > 4 { storeRow(c4a, c4b, c + 4 * ldc, ep, bias0, bias1) }
    if rows > 5 { storeRow(c5a, c5b, c + 5 * ldc, ep, bias0, bias1) }
    if rows > 6 { storeRow(c6a, c6b, c + 6 * ldc, ep, bias0, bias1) }
    if rows > 7 { storeRow(c7a, c7b, c + 7 * ldc, ep, bias0, bias1) }
    if rows > 8 { storeRow(c8a, c8b, c + 8 * ldc, ep, bias0, bias1) }
    if rows > 9 { storeRow(c9a, c9b, c + 9 * ldc, ep, bias0, bias1) }
    if rows > 10 { storeRow(c10a, c10b, c + 10 * ldc, ep, bias0, bias1) }
    if rows > 11 { storeRow(c11a, c11b, c + 11 * ldc, ep, bias0, bias1) }
    if rows > 12 { storeRow(c12a, c12b, c + 12 * ldc, ep, bias0, bias1) }
    if rows > 13 { storeRow(c13a, c13b, c + 13 * ldc, ep, bias0, bias1) }
}
#endif
