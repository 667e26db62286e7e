// The bottom-edge micro-kernel. A block's last row panel often holds only a few rows: with the
// AVX-512 kernel's 14-row panels a 128-row shard is 9 panels of 14 rows and one of 2, a 127-row
// weight gradient ends with 1, a 256-row one with 4. The 14-row kernel would still run all 28
// accumulators for them (with the 128-row shards ~9% of the kernel's multiply-adds went to zero
// padding); this one keeps 4 rows (8 accumulators). With AVX2's 16-row panels most of the model's
// row counts are whole panels; a 127-row gradient still ends in 15 rows, a 475-row one in 11.
// NOTE: each accumulator is the same fused multiply-add chain over k in the same order as in
// `sgemmMicroKernel`, and the epilogue is the same `storeRow`, so which kernel computes a row never
// changes a bit (and so neither do thread splits, which move the row edges).

/// Rows the edge kernel computes.
@usableFromInline let gemmEdgeMR = 4

#if MMOE_AVX2
/// `sgemmMicroKernel` for a tile of at most `gemmEdgeMR` valid rows, on AVX2 (`MMOE_AVX2`). The
/// 16-lane form below keeps 8 SIMD16 accumulators, 16 of AVX2's 16 ymm registers before B and the
/// broadcast, so it spilled; and a 128-row shard's last 14-row panel had 2 rows, half of the 4 it ran.
/// Here up to 2 rows take all 32 columns at once (8 ymm accumulators), 3 or 4 rows two halves of 16
/// (8 each). Every element is still the same fused multiply-add chain over k and the same epilogue.
@inline(never)
@usableFromInline func sgemmMicroKernelEdge(kc: Int, pa: UnsafePointer<Float>, pb: UnsafePointer<Float>, ldb: Int = gemmNR,
                                            c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, ep: GEMMEpilogue) {
    if rows <= 2 {
        sgemmEdgeTwoRows(kc: kc, pa: pa, pb: pb, ldb: ldb, c: c, ldc: ldc, rows: rows, ep: ep)
    } else {
        sgemmEdgeHalf(kc: kc, pa: pa, pb: pb, ldb: ldb, c: c, ldc: ldc, rows: rows, ep: ep, column: 0)
        sgemmEdgeHalf(kc: kc, pa: pa, pb: pb, ldb: ldb, c: c, ldc: ldc, rows: rows, ep: ep, column: 16)
    }
}

/// Rows 0 and 1 (the second only when `rows` is 2) of an edge tile, all 32 columns.
@inline(__always)
private func sgemmEdgeTwoRows(kc: Int, pa: UnsafePointer<Float>, pb: UnsafePointer<Float>, ldb: Int,
                              c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, ep: GEMMEpilogue) {
    var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c02 = SIMD8<Float>(), c03 = SIMD8<Float>()
    var c10 = SIMD8<Float>(), c11 = SIMD8<Float>(), c12 = SIMD8<Float>(), c13 = SIMD8<Float>()
    var a = pa, b = pb
    if rows == 2 {
        for _ in 0..<kc {
            let b0 = load8(b), b1 = load8(b + 8), b2 = load8(b + 16), b3 = load8(b + 24)
            let a0 = SIMD8<Float>(repeating: a[0]), a1 = SIMD8<Float>(repeating: a[1])
            c00.addProduct(a0, b0); c01.addProduct(a0, b1); c02.addProduct(a0, b2); c03.addProduct(a0, b3)
            c10.addProduct(a1, b0); c11.addProduct(a1, b1); c12.addProduct(a1, b2); c13.addProduct(a1, b3)
            a += gemmMR; b += ldb
        }
    } else {
        for _ in 0..<kc {
            let a0 = SIMD8<Float>(repeating: a[0])
            c00.addProduct(a0, load8(b)); c01.addProduct(a0, load8(b + 8))
            c02.addProduct(a0, load8(b + 16)); c03.addProduct(a0, load8(b + 24))
            a += gemmMR; b += ldb
        }
    }
    let bias = ep.bias
    let b0 = bias.map { load8($0) } ?? SIMD8<Float>(), b1 = bias.map { load8($0 + 8) } ?? SIMD8<Float>()
    let b2 = bias.map { load8($0 + 16) } ?? SIMD8<Float>(), b3 = bias.map { load8($0 + 24) } ?? SIMD8<Float>()
    storeRow8(c00, c, ep, b0); storeRow8(c01, c + 8, ep, b1); storeRow8(c02, c + 16, ep, b2); storeRow8(c03, c + 24, ep, b3)
    if rows == 2 {
        let r = c + ldc
        storeRow8(c10, r, ep, b0); storeRow8(c11, r + 8, ep, b1); storeRow8(c12, r + 16, ep, b2); storeRow8(c13, r + 24, ep, b3)
    }
}

/// Rows 0..<`rows` (3 or 4) of an edge tile, the 16 columns from `column`.
@inline(__always)
private func sgemmEdgeHalf(kc: Int, pa: UnsafePointer<Float>, pb: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>,
                           ldc: Int, rows: Int, ep: GEMMEpilogue, column: Int) {
    var c0a = SIMD8<Float>(), c0b = SIMD8<Float>(), c1a = SIMD8<Float>(), c1b = SIMD8<Float>()
    var c2a = SIMD8<Float>(), c2b = SIMD8<Float>(), c3a = SIMD8<Float>(), c3b = SIMD8<Float>()
    var a = pa, b = pb + column
    for _ in 0..<kc {
        let b0 = load8(b), b1 = load8(b + 8)
        var av: SIMD8<Float>
        av = SIMD8(repeating: a[0]); c0a.addProduct(av, b0); c0b.addProduct(av, b1)
        av = SIMD8(repeating: a[1]); c1a.addProduct(av, b0); c1b.addProduct(av, b1)
        av = SIMD8(repeating: a[2]); c2a.addProduct(av, b0); c2b.addProduct(av, b1)
        av = SIMD8(repeating: a[3]); c3a.addProduct(av, b0); c3b.addProduct(av, b1)
        a += gemmMR; b += ldb
    }
    let bias = ep.bias.map { $0 + column }
    let b0 = bias.map { load8($0) } ?? SIMD8<Float>(), b1 = bias.map { load8($0 + 8) } ?? SIMD8<Float>()
    let o = c + column
    storeRow8(c0a, o, ep, b0); storeRow8(c0b, o + 8, ep, b1)
    storeRow8(c1a, o + ldc, ep, b0); storeRow8(c1b, o + ldc + 8, ep, b1)
    storeRow8(c2a, o + 2 * ldc, ep, b0); storeRow8(c2b, o + 2 * ldc + 8, ep, b1)
    if rows > 3 { storeRow8(c3a, o + 3 * ldc, ep, b0); storeRow8(c3b, o + 3 * ldc + 8, ep, b1) }
}
#else
/// `sgemmMicroKernel` for a tile of at most `gemmEdgeMR` valid rows: reads the first 4 rows of the
/// packed A panel (stride MR per k step; rows past the matrix are zero padding) and stores `rows`.
@inline(never)
@usableFromInline func sgemmMicroKernelEdge(kc: Int, pa: UnsafePointer<Float>, pb: UnsafePointer<Float>, ldb: Int = gemmNR,
                                            c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, ep: GEMMEpilogue) {
    var c0a = SIMD16<Float>(), c0b = SIMD16<Float>()
    var c1a = SIMD16<Float>(), c1b = SIMD16<Float>()
    var c2a = SIMD16<Float>(), c2b = SIMD16<Float>()
    var c3a = SIMD16<Float>(), c3b = SIMD16<Float>()
    var a = pa, b = pb
    for _ in 0..<kc {
        let b0 = load16(b), b1 = load16(b + 16)
        var av: SIMD16<Float>
        av = SIMD16(repeating: a[0]); c0a.addProduct(av, b0); c0b.addProduct(av, b1)
        av = SIMD16(repeating: a[1]); c1a.addProduct(av, b0); c1b.addProduct(av, b1)
        av = SIMD16(repeating: a[2]); c2a.addProduct(av, b0); c2b.addProduct(av, b1)
        av = SIMD16(repeating: a[3]); c3a.addProduct(av, b0); c3b.addProduct(av, b1)
        a += gemmMR; b += ldb
    }
    var bias0 = SIMD16<Float>(), bias1 = SIMD16<Float>()
    if let bias = ep.bias { bias0 = load16(bias); bias1 = load16(bias + 16) }
    storeRow(c0a, c0b, c, ep, bias0, bias1)
    if rows > 1 { storeRow(c1a, c1b, c + ldc, ep, bias0, bias1) }
    if rows > 2 { storeRow(c2a, c2b, c + 2 * ldc, ep, bias0, bias1) }
    if rows > 3 { storeRow(c3a, c3b, c + 3 * ldc, ep, bias0, bias1) }
}
#endif
