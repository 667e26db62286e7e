// The bottom-edge micro-kernel. A block's last row panel often holds only a few rows: a 128-row
// shard is 9 panels of 14 rows and one of 2, a 127-row weight gradient ends with 1, a 256-row one
// with 4. The 14-row kernel would still run all 28 accumulators for them (with the 128-row shards
// ~9% of the kernel's multiply-adds went to zero padding); this one keeps 4 rows (8 accumulators).
// NOTE: each accumulator is the same fused multiply-add chain over k in the same order as in
// `sgemmMicroKernel`, and the epilogue is the same `storeRow`, so which kernel computes a row never
// changes a bit (and so neither do thread splits, which move the row edges).

/// Rows the edge kernel computes.
@usableFromInline let gemmEdgeMR = 4

/// `sgemmMicroKernel` for a tile of at most `gemmEdgeMR` valid rows: reads the first 4 rows of the
/// packed A panel (stride MR per k step; rows past the matrix are zero padding) and stores `rows`.
@inline(never)
@usableFromInline func sgemmMicroKernelEdge(kc: Int, pa: UnsafePointer<Float>, pb: UnsafePointer<Float>,
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
        a += gemmMR; b += gemmNR
    }
    var bias0 = SIMD16<Float>(), bias1 = SIMD16<Float>()
    if let bias = ep.bias { bias0 = load16(bias); bias1 = load16(bias + 16) }
    storeRow(c0a, c0b, c, ep, bias0, bias1)
    if rows > 1 { storeRow(c1a, c1b, c + ldc, ep, bias0, bias1) }
    if rows > 2 { storeRow(c2a, c2b, c + 2 * ldc, ep, bias0, bias1) }
    if rows > 3 { storeRow(c3a, c3b, c + 3 * ldc, ep, bias0, bias1) }
}
