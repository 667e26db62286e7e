// The small-n path (n <= gemmSmallN, e.g. a 3-way output head). With NR = 32 the blocked kernel
// would spend most of its FMAs on zero padding, so these kernels vectorise along a dimension that is
// long instead, and skip packing A entirely:
// - op(A) = A^T (A stored k x m): vectors run along m. op(A)[i..i+15, p] is one contiguous load and
//   op(B)[p, j] is broadcast, i.e. an axpy per column.
// - op(A) = A (rows contiguous along k): vectors run along k, a dot product per element, reduced
//   horizontally at the end.
// Columns are processed four at a time from a tiny packed copy of op(B) (zero-padded to 4 columns).
// NOTE: every element of C is produced by the same sequence of operations whichever tile or thread
// computes it (tails use the 1-row/1-vector or scalar variant of the same sequence), so results do
// not depend on how the rows are split.

/// Largest n that takes the small-n path.
@usableFromInline let gemmSmallN = 8

/// Epilogue for one element (the small-n and small-k paths' scalar edges); the same operation
/// order as the micro-kernel's `storeRow`.
@inline(__always)
func gemmFinishElement(_ acc: Float, _ c: UnsafeMutablePointer<Float>, _ p: GEMMProblem, _ j: Int) {
    var v = acc * p.alpha
    if p.beta != 0 { v = v + p.beta * c.pointee }
    if let bias = p.bias { v = v + bias[j] }
    if p.relu && v < 0 { v = 0 }
    c.pointee = v
}

/// Horizontal sum in a fixed tree order (halves, then quarters, ...).
@inline(__always)
private func reduce(_ x: SIMD16<Float>) -> Float {
    let h8 = x.lowHalf + x.highHalf
    let h4 = h8.lowHalf + h8.highHalf
    let h2 = h4.lowHalf + h4.highHalf
    return h2[0] + h2[1]
}

/// The horizontal sums of sixteen vectors at once, each in `reduce`'s exact order (lane i + lane
/// i+8, then + 4, + 2, + 1), so every sum has the same bits as `reduce(x_e)`. Returns
/// `result[4*L + q] = reduce(x[4*q + L])`: with the inputs in column-major order of a 4 x 4 tile
/// (`x[4*j + r]` for row r, column j), the result is the tile in row-major order (`r*4 + j`).
/// NOTE: reducing each vector on its own costs ~8 shuffles and adds per sum, as many as the whole
/// k-loop for k = 128; this tree pairs the vectors up so that each shuffle and add serves two to
/// sixteen sums (~45 operations for all sixteen instead of ~130).
@inline(__always)
private func reduce16(_ x: (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>,
                            SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>,
                            SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>,
                            SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>)) -> SIMD16<Float> {
    // Halves: y = [h8(a), h8(b)], h8(v)[i] = v[i] + v[i+8].
    @inline(__always) func halves(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
        SIMD16(lowHalf: a.lowHalf, highHalf: b.lowHalf) + SIMD16(lowHalf: a.highHalf, highHalf: b.highHalf)
    }
    // Quarters: each 8-lane group g of y becomes h4(g)[i] = g[i] + g[i+4], in 128-bit lanes
    // [a.g0, a.g1, b.g0, b.g1].
    @inline(__always) func quarters(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
        let lo = SIMD16(a[0], a[1], a[2], a[3], a[8], a[9], a[10], a[11], b[0], b[1], b[2], b[3], b[8], b[9], b[10], b[11])
        let hi = SIMD16(a[4], a[5], a[6], a[7], a[12], a[13], a[14], a[15], b[4], b[5], b[6], b[7], b[12], b[13], b[14], b[15])
        return lo + hi
    }
    // Pairs, within each 128-bit lane: [a0 + a2, a1 + a3, b0 + b2, b1 + b3].
    @inline(__always) func pairs(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
        let lo = SIMD16(a[0], a[1], b[0], b[1], a[4], a[5], b[4], b[5], a[8], a[9], b[8], b[9], a[12], a[13], b[12], b[13])
        let hi = SIMD16(a[2], a[3], b[2], b[3], a[6], a[7], b[6], b[7], a[10], a[11], b[10], b[11], a[14], a[15], b[14], b[15])
        return lo + hi
    }
    // Singles, within each 128-bit lane: [a0 + a1, a2 + a3, b0 + b1, b2 + b3].
    @inline(__always) func singles(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
        let lo = SIMD16(a[0], a[2], b[0], b[2], a[4], a[6], b[4], b[6], a[8], a[10], b[8], b[10], a[12], a[14], b[12], b[14])
        let hi = SIMD16(a[1], a[3], b[1], b[3], a[5], a[7], b[5], b[7], a[9], a[11], b[9], b[11], a[13], a[15], b[13], b[15])
        return lo + hi
    }
    let y0 = halves(x.0, x.1), y1 = halves(x.2, x.3), y2 = halves(x.4, x.5), y3 = halves(x.6, x.7)
    let y4 = halves(x.8, x.9), y5 = halves(x.10, x.11), y6 = halves(x.12, x.13), y7 = halves(x.14, x.15)
    // z_j, 128-bit lane L: h4 of x[4j + L].
    let z0 = quarters(y0, y1), z1 = quarters(y2, y3), z2 = quarters(y4, y5), z3 = quarters(y6, y7)
    // w0, 128-bit lane L: h2 of x[L], then of x[4 + L]; w1: of x[8 + L], x[12 + L].
    let w0 = pairs(z0, z1), w1 = pairs(z2, z3)
    // 128-bit lane L: the sums of x[L], x[4 + L], x[8 + L], x[12 + L].
    return singles(w0, w1)
}

/// op(A) = A^T: 64 rows x 4 columns. `a` points at op(A)[i0, 0] (stride lda per k step), `pb` is
/// the packed column group (`pb[p*4 + j]`). Writes raw sums to `out[v*16 + lane + 64*j]`.
@inline(never)
private func smallNAxpy64(k: Int, a: UnsafePointer<Float>, lda: Int, pb: UnsafePointer<Float>,
                          out: UnsafeMutablePointer<SIMD16<Float>>) {
    var c00 = SIMD16<Float>(), c01 = SIMD16<Float>(), c02 = SIMD16<Float>(), c03 = SIMD16<Float>()
    var c10 = SIMD16<Float>(), c11 = SIMD16<Float>(), c12 = SIMD16<Float>(), c13 = SIMD16<Float>()
    var c20 = SIMD16<Float>(), c21 = SIMD16<Float>(), c22 = SIMD16<Float>(), c23 = SIMD16<Float>()
    var c30 = SIMD16<Float>(), c31 = SIMD16<Float>(), c32 = SIMD16<Float>(), c33 = SIMD16<Float>()
    var ap = a, bp = pb
    for _ in 0..<k {
        let a0 = load16(ap), a1 = load16(ap + 16), a2 = load16(ap + 32), a3 = load16(ap + 48)
        var bv: SIMD16<Float>
        bv = SIMD16(repeating: bp[0]); c00.addProduct(a0, bv); c10.addProduct(a1, bv); c20.addProduct(a2, bv); c30.addProduct(a3, bv);
        bv = SIMD16(repeating: bp[1]); c01.addProduct(a0, bv); c11.addProduct(a1, bv); c21.addProduct(a2, bv); c31.addProduct(a3, bv);
        bv = SIMD16(repeating: bp[2]); c02.addProduct(a0, bv); c12.addProduct(a1, bv); c22.addProduct(a2, bv); c32.addProduct(a3, bv);
        bv = SIMD16(repeating: bp[3]); c03.addProduct(a0, bv); c13.addProduct(a1, bv); c23.addProduct(a2, bv); c33.addProduct(a3, bv);
        ap += lda; bp += 4
    }
    out[0] = c00; out[1] = c10; out[2] = c20; out[3] = c30
    out[4] = c01; out[5] = c11; out[6] = c21; out[7] = c31
    out[8] = c02; out[9] = c12; out[10] = c22; out[11] = c32
    out[12] = c03; out[13] = c13; out[14] = c23; out[15] = c33
}

/// op(A) = A^T: 16 rows x 4 columns, the same sequence per element as `smallNAxpy64`.
@inline(never)
private func smallNAxpy16(k: Int, a: UnsafePointer<Float>, lda: Int, pb: UnsafePointer<Float>,
                          out: UnsafeMutablePointer<SIMD16<Float>>) {
    var c0 = SIMD16<Float>(), c1 = SIMD16<Float>(), c2 = SIMD16<Float>(), c3 = SIMD16<Float>()
    var ap = a, bp = pb
    for _ in 0..<k {
        let a0 = load16(ap)
        c0.addProduct(a0, SIMD16(repeating: bp[0])); c1.addProduct(a0, SIMD16(repeating: bp[1]))
        c2.addProduct(a0, SIMD16(repeating: bp[2])); c3.addProduct(a0, SIMD16(repeating: bp[3]))
        ap += lda; bp += 4
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3
}

#if MMOE_AVX2
/// `smallNAxpy16` on AVX2, where the SIMD16 kernels' 16 accumulators are 32 ymm registers and
/// spill on every k step (a 3-expert gate's weight gradient ran at ~9 GFLOP/s on a Zen 3): 16 rows
/// x 4 columns in 8 ymm accumulators, each lane the same fused multiply-add chain over k as a lane
/// of the SIMD16 kernels, so the same bits. Column j's 16 sums go to `out[j * stride]`.
@inline(never)
private func smallNAxpy16AVX2(k: Int, a: UnsafePointer<Float>, lda: Int, pb: UnsafePointer<Float>,
                              out: UnsafeMutablePointer<SIMD16<Float>>, stride: Int) {
    var c0a = SIMD8<Float>(), c0b = SIMD8<Float>(), c1a = SIMD8<Float>(), c1b = SIMD8<Float>()
    var c2a = SIMD8<Float>(), c2b = SIMD8<Float>(), c3a = SIMD8<Float>(), c3b = SIMD8<Float>()
    var ap = a, bp = pb
    for _ in 0..<k {
        let a0 = load8(ap), a1 = load8(ap + 8)
        var bv: SIMD8<Float>
        bv = SIMD8(repeating: bp[0]); c0a.addProduct(a0, bv); c0b.addProduct(a1, bv)
        bv = SIMD8(repeating: bp[1]); c1a.addProduct(a0, bv); c1b.addProduct(a1, bv)
        bv = SIMD8(repeating: bp[2]); c2a.addProduct(a0, bv); c2b.addProduct(a1, bv)
        bv = SIMD8(repeating: bp[3]); c3a.addProduct(a0, bv); c3b.addProduct(a1, bv)
        ap += lda; bp += 4
    }
    out[0] = SIMD16(lowHalf: c0a, highHalf: c0b)
    out[stride] = SIMD16(lowHalf: c1a, highHalf: c1b)
    out[2 * stride] = SIMD16(lowHalf: c2a, highHalf: c2b)
    out[3 * stride] = SIMD16(lowHalf: c3a, highHalf: c3b)
}

/// 64 rows x 1 column on AVX2 (a task's logit: the other three columns of a group would be
/// padding): 8 ymm accumulators, the same chain per lane. Writes `out[v]` for rows 16v..<16v+16.
@inline(never)
private func smallNAxpy64x1AVX2(k: Int, a: UnsafePointer<Float>, lda: Int, pb: UnsafePointer<Float>,
                                out: UnsafeMutablePointer<SIMD16<Float>>) {
    var c0 = SIMD8<Float>(), c1 = SIMD8<Float>(), c2 = SIMD8<Float>(), c3 = SIMD8<Float>()
    var c4 = SIMD8<Float>(), c5 = SIMD8<Float>(), c6 = SIMD8<Float>(), c7 = SIMD8<Float>()
    var ap = a, bp = pb
    for _ in 0..<k {
        let bv = SIMD8<Float>(repeating: bp[0])
        c0.addProduct(load8(ap), bv); c1.addProduct(load8(ap + 8), bv)
        c2.addProduct(load8(ap + 16), bv); c3.addProduct(load8(ap + 24), bv)
        c4.addProduct(load8(ap + 32), bv); c5.addProduct(load8(ap + 40), bv)
        c6.addProduct(load8(ap + 48), bv); c7.addProduct(load8(ap + 56), bv)
        ap += lda; bp += 4
    }
    out[0] = SIMD16(lowHalf: c0, highHalf: c1); out[1] = SIMD16(lowHalf: c2, highHalf: c3)
    out[2] = SIMD16(lowHalf: c4, highHalf: c5); out[3] = SIMD16(lowHalf: c6, highHalf: c7)
}

/// `smallNDot1` for one column (the other three of the group are padding), the same sequence.
@inline(never)
private func smallNDot1x1(k: Int, a: UnsafePointer<Float>, pb: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
    var c0 = SIMD16<Float>()
    let k16 = k & ~15
    var p = 0
    while p < k16 {
        c0.addProduct(load16(a + p), load16(pb + p))
        p += 16
    }
    var s = reduce(c0)
    for q in k16..<k { s = s.addingProduct(a[q], pb[q]) }
    out[0] = s
}
#endif

/// 16 rows x 4 columns into `out[0..<4]`: the AVX2 kernel on an AVX2 build, else the SIMD16 one
/// (the same chain per lane, so the same bits).
@inline(__always)
private func smallNAxpy16Rows(k: Int, a: UnsafePointer<Float>, lda: Int, pb: UnsafePointer<Float>,
                              out: UnsafeMutablePointer<SIMD16<Float>>) {
    #if MMOE_AVX2
    smallNAxpy16AVX2(k: k, a: a, lda: lda, pb: pb, out: out, stride: 1)
    #else
    smallNAxpy16(k: k, a: a, lda: lda, pb: pb, out: out)
    #endif
}

/// op(A) = A: 4 rows x 4 columns of dot products over k. `a` points at row i0 (rows `lda` apart),
/// `pb` is the packed column group transposed (`pb[j*k + p]`). Writes the finished sums to `out[r*4 + j]`.
@inline(never)
private func smallNDot4(k: Int, a: UnsafePointer<Float>, lda: Int, pb: UnsafePointer<Float>,
                        out: UnsafeMutablePointer<Float>) {
    var c00 = SIMD16<Float>(), c01 = SIMD16<Float>(), c02 = SIMD16<Float>(), c03 = SIMD16<Float>()
    var c10 = SIMD16<Float>(), c11 = SIMD16<Float>(), c12 = SIMD16<Float>(), c13 = SIMD16<Float>()
    var c20 = SIMD16<Float>(), c21 = SIMD16<Float>(), c22 = SIMD16<Float>(), c23 = SIMD16<Float>()
    var c30 = SIMD16<Float>(), c31 = SIMD16<Float>(), c32 = SIMD16<Float>(), c33 = SIMD16<Float>()
    let a0p = a, a1p = a + lda, a2p = a + 2 * lda, a3p = a + 3 * lda
    let b0p = pb, b1p = pb + k, b2p = pb + 2 * k, b3p = pb + 3 * k
    let k16 = k & ~15
    var p = 0
    while p < k16 {
        let b0 = load16(b0p + p), b1 = load16(b1p + p), b2 = load16(b2p + p), b3 = load16(b3p + p)
        var av: SIMD16<Float>
        av = load16(a0p + p); c00.addProduct(av, b0); c01.addProduct(av, b1); c02.addProduct(av, b2); c03.addProduct(av, b3);
        av = load16(a1p + p); c10.addProduct(av, b0); c11.addProduct(av, b1); c12.addProduct(av, b2); c13.addProduct(av, b3);
        av = load16(a2p + p); c20.addProduct(av, b0); c21.addProduct(av, b1); c22.addProduct(av, b2); c23.addProduct(av, b3);
        av = load16(a3p + p); c30.addProduct(av, b0); c31.addProduct(av, b1); c32.addProduct(av, b2); c33.addProduct(av, b3);
        p += 16
    }
    // Column-major in, row-major out: out[r*4 + j].
    store16(reduce16((c00, c10, c20, c30, c01, c11, c21, c31, c02, c12, c22, c32, c03, c13, c23, c33)), out)
    if k16 < k { smallNDotTail(k: k, k16: k16, a: a, lda: lda, tail: pb + 4 * k, out: out) }
}

/// Chains the k tail (steps k16..<k) onto the 4 x 4 tile of sums in `out` (row-major), as in
/// `smallNDot1`: a fused multiply-add chain per element, the four columns of a row in one vector
/// (`tail[(q - k16)*4 + j]` = op(B)[q, j]); the four rows' chains interleaved, one B load per step.
/// NOTE: handing the reduced vector over in registers instead (its four 128-bit quarters) made the
/// k = 128 case ~25% slower (LLVM then rebuilt the reduction tree's shuffles); the tile goes
/// through `out` as before.
@inline(__always)
private func smallNDotTail(k: Int, k16: Int, a: UnsafePointer<Float>, lda: Int,
                           tail: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
    let o = UnsafeMutableRawPointer(out)
    var s0 = o.loadUnaligned(as: SIMD4<Float>.self), s1 = o.loadUnaligned(fromByteOffset: 16, as: SIMD4<Float>.self)
    var s2 = o.loadUnaligned(fromByteOffset: 32, as: SIMD4<Float>.self), s3 = o.loadUnaligned(fromByteOffset: 48, as: SIMD4<Float>.self)
    let a0 = a, a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda
    var t = UnsafeRawPointer(tail)
    for q in k16..<k {
        let bv = t.loadUnaligned(as: SIMD4<Float>.self)
        s0.addProduct(SIMD4(repeating: a0[q]), bv)
        s1.addProduct(SIMD4(repeating: a1[q]), bv)
        s2.addProduct(SIMD4(repeating: a2[q]), bv)
        s3.addProduct(SIMD4(repeating: a3[q]), bv)
        t += 16
    }
    o.storeBytes(of: s0, as: SIMD4<Float>.self); o.storeBytes(of: s1, toByteOffset: 16, as: SIMD4<Float>.self)
    o.storeBytes(of: s2, toByteOffset: 32, as: SIMD4<Float>.self); o.storeBytes(of: s3, toByteOffset: 48, as: SIMD4<Float>.self)
}

/// `smallNDot4` for a column group of at most 3 (e.g. a 3-expert gate): the fourth column's
/// multiply-adds are skipped (12 accumulators instead of 16); every element it writes has the same
/// sequence, so the same bits, as in `smallNDot4`. Writes `out[r*4 + j]` for j < 3.
@inline(never)
private func smallNDot4x3(k: Int, a: UnsafePointer<Float>, lda: Int, pb: UnsafePointer<Float>,
                          out: UnsafeMutablePointer<Float>) {
    var c00 = SIMD16<Float>(), c01 = SIMD16<Float>(), c02 = SIMD16<Float>()
    var c10 = SIMD16<Float>(), c11 = SIMD16<Float>(), c12 = SIMD16<Float>()
    var c20 = SIMD16<Float>(), c21 = SIMD16<Float>(), c22 = SIMD16<Float>()
    var c30 = SIMD16<Float>(), c31 = SIMD16<Float>(), c32 = SIMD16<Float>()
    let a0p = a, a1p = a + lda, a2p = a + 2 * lda, a3p = a + 3 * lda
    let b0p = pb, b1p = pb + k, b2p = pb + 2 * k
    let k16 = k & ~15
    var p = 0
    while p < k16 {
        let b0 = load16(b0p + p), b1 = load16(b1p + p), b2 = load16(b2p + p)
        var av: SIMD16<Float>
        av = load16(a0p + p); c00.addProduct(av, b0); c01.addProduct(av, b1); c02.addProduct(av, b2)
        av = load16(a1p + p); c10.addProduct(av, b0); c11.addProduct(av, b1); c12.addProduct(av, b2)
        av = load16(a2p + p); c20.addProduct(av, b0); c21.addProduct(av, b1); c22.addProduct(av, b2)
        av = load16(a3p + p); c30.addProduct(av, b0); c31.addProduct(av, b1); c32.addProduct(av, b2)
        p += 16
    }
    let z = SIMD16<Float>()
    store16(reduce16((c00, c10, c20, c30, c01, c11, c21, c31, c02, c12, c22, c32, z, z, z, z)), out)
    if k16 < k { smallNDotTail(k: k, k16: k16, a: a, lda: lda, tail: pb + 4 * k, out: out) }
}

/// op(A) = A: 1 row x 4 columns, the same sequence per element as `smallNDot4`.
@inline(never)
private func smallNDot1(k: Int, a: UnsafePointer<Float>, pb: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
    var c0 = SIMD16<Float>(), c1 = SIMD16<Float>(), c2 = SIMD16<Float>(), c3 = SIMD16<Float>()
    let k16 = k & ~15
    var p = 0
    while p < k16 {
        let av = load16(a + p)
        c0.addProduct(av, load16(pb + p)); c1.addProduct(av, load16(pb + k + p))
        c2.addProduct(av, load16(pb + 2 * k + p)); c3.addProduct(av, load16(pb + 3 * k + p))
        p += 16
    }
    out[0] = reduce(c0); out[1] = reduce(c1); out[2] = reduce(c2); out[3] = reduce(c3)
    for j in 0..<4 {
        var s = out[j]
        for q in k16..<k { s = s.addingProduct(a[q], pb[j * k + q]) }
        out[j] = s
    }
}

/// Row granularity of the small-n path when splitting across threads: a multiple of every row tile
/// (64 for the axpy kernels, 4 for the dot kernels) so tails always fall on the same rows.
@usableFromInline let gemmSmallNRowUnit = 64

/// Floats of bfloat16-rounded A the small-n path keeps at once (rows are copied in chunks).
private let smallNRoundedAFloats = 1 << 16

/// The small-n GEMM for one problem (n <= gemmSmallN, m, k > 0), single-threaded.
/// With `roundToBFloat16`, A (read in place, never packed, on this path) is first copied rounded,
/// a chunk of whole 64-row units at a time: chunks start on multiples of the row unit, so every
/// element is computed exactly as without chunking, and the result equals the unrounded path run
/// on pre-rounded operands.
func gemmSmallN(_ p: GEMMProblem, scratch: GEMMScratch) {
    guard p.roundToBFloat16 else { gemmSmallNCore(p, scratch: scratch, PackCopy.self); return }
    let k = p.k
    let chunk = max(gemmSmallNRowUnit, smallNRoundedAFloats / k / gemmSmallNRowUnit * gemmSmallNRowUnit)
    let reserved = smallNCoreFloats(k: k, transA: p.transA)  // gemmSmallNCore's own part of the scratch
    let copy = scratch.buffer(atLeast: reserved + min(chunk, p.m) * k) + reserved
    var i0 = 0
    while i0 < p.m {
        let rows = min(chunk, p.m - i0)
        var q = p.block(rows: i0, rows, cols: 0, p.n)
        if p.transA {
            // op(A) rows i0..<i0+rows are columns of the stored k x m matrix.
            copyRoundedToBFloat16(q.a, ld: p.lda, lines: k, length: rows, into: copy)
            q.lda = rows
        } else {
            copyRoundedToBFloat16(q.a, ld: p.lda, lines: rows, length: k, into: copy)
            q.lda = k
        }
        q.a = UnsafePointer(copy)
        gemmSmallNCore(q, scratch: scratch, PackRoundBFloat16.self)
        i0 += rows
    }
}

/// Floats of scratch `gemmSmallNCore` uses from the start of the thread's buffer: the packed
/// column group of op(B) with its k tail, 16 sums of 16, and (op(A) = A^T) the zero-padded panel
/// of the last rows.
private func smallNCoreFloats(k: Int, transA: Bool) -> Int {
    ((4 * k + 64 + 15) & ~15) + 16 * 16 + (transA ? 16 * k : 0)
}

/// The small-n kernels over one problem; B goes through `C.apply` (a copy, or bfloat16 rounding)
/// as it is packed, A is read as given. Generic so the plain copy carries no per-value branch.
private func gemmSmallNCore<C: PackConversion>(_ p: GEMMProblem, scratch: GEMMScratch, _: C.Type) {
    let k = p.k
    @inline(__always) func bValue(_ q: Int, _ j: Int) -> Float { C.apply(p.bAt(q, j).pointee) }
    let pbFloats = (4 * k + 64 + 15) & ~15         // op(B) and its k tail; keeps `sums` 64-byte aligned
    let buf = scratch.buffer(atLeast: smallNCoreFloats(k: k, transA: p.transA))
    let pb = buf                                   // one column group of op(B)
    let sums = UnsafeMutableRawPointer(buf + pbFloats).bindMemory(to: SIMD16<Float>.self, capacity: 16)
    let flat = UnsafeMutableRawPointer(sums).bindMemory(to: Float.self, capacity: 256)
    let tail = buf + pbFloats + 16 * 16            // op(A)^T's last < 16 rows, zero-padded to 16
    var jg = 0
    while jg < p.n {
        let cols = min(4, p.n - jg)
        if p.transA {
            // pb[p*4 + j] = op(B)[p, jg + j]
            for q in 0..<k { for j in 0..<4 { pb[q * 4 + j] = j < cols ? bValue(q, jg + j) : 0 } }
            var i = 0
            while i < p.m {
                let rows = p.m - i
                if rows >= 64 {
                    #if MMOE_AVX2
                    if cols == 1 {
                        smallNAxpy64x1AVX2(k: k, a: p.aAt(i, 0), lda: p.lda, pb: pb, out: sums)
                    } else {
                        for v in 0..<4 { smallNAxpy16AVX2(k: k, a: p.aAt(i + 16 * v, 0), lda: p.lda, pb: pb, out: sums + v, stride: 4) }
                    }
                    #else
                    smallNAxpy64(k: k, a: p.aAt(i, 0), lda: p.lda, pb: pb, out: sums)
                    #endif
                    for j in 0..<cols {
                        for r in 0..<64 { gemmFinishElement(flat[j * 64 + r], p.c + (i + r) * p.ldc + jg + j, p, jg + j) }
                    }
                    i += 64
                } else if rows >= 16 {
                    smallNAxpy16Rows(k: k, a: p.aAt(i, 0), lda: p.lda, pb: pb, out: sums)
                    for j in 0..<cols {
                        for r in 0..<16 { gemmFinishElement(flat[j * 16 + r], p.c + (i + r) * p.ldc + jg + j, p, jg + j) }
                    }
                    i += 16
                } else {
                    // Fewer than 16 rows: copied into a zero-padded 16-wide panel and run through
                    // the 16-row kernel, whose lanes are each the same fused multiply-add chain.
                    // NOTE: the scalar chains this replaces ran one dependent FMA after another:
                    // the 15 rows left of a 127-wide gate gradient took 2/3 of its time.
                    for q in 0..<k {
                        let src = p.aAt(i, q), dst = tail + q * 16
                        for r in 0..<16 { dst[r] = r < rows ? src[r] : 0 }
                    }
                    smallNAxpy16Rows(k: k, a: tail, lda: 16, pb: pb, out: sums)
                    for j in 0..<cols {
                        for r in 0..<rows { gemmFinishElement(flat[j * 16 + r], p.c + (i + r) * p.ldc + jg + j, p, jg + j) }
                    }
                    i = p.m
                }
            }
        } else {
            // pb[j*k + p] = op(B)[p, jg + j], then the k tail (p >= k16) again, k-major:
            // pb[4*k + (p - k16)*4 + j].
            for j in 0..<4 {
                if j < cols {
                    for q in 0..<k { pb[j * k + q] = bValue(q, jg + j) }
                } else {
                    for q in 0..<k { pb[j * k + q] = 0 }
                }
            }
            let k16 = k & ~15
            for q in k16..<k { for j in 0..<4 { pb[4 * k + (q - k16) * 4 + j] = pb[j * k + q] } }
            var i = 0
            while i < p.m {
                let rows = min(4, p.m - i)
                #if MMOE_AVX2
                if cols == 1 {
                    // One column (a task's logit): the 4 x 4 tile would compute three columns of
                    // padding in 16 SIMD16 accumulators, which spill on AVX2; one row at a time.
                    for r in 0..<rows { smallNDot1x1(k: k, a: p.aAt(i + r, 0), pb: pb, out: flat + 4 * r) }
                    for r in 0..<rows { gemmFinishElement(flat[r * 4], p.c + (i + r) * p.ldc + jg, p, jg) }
                    i += rows
                    continue
                }
                #endif
                if rows == 4 && cols <= 3 {
                    smallNDot4x3(k: k, a: p.aAt(i, 0), lda: p.lda, pb: pb, out: flat)
                } else if rows == 4 {
                    smallNDot4(k: k, a: p.aAt(i, 0), lda: p.lda, pb: pb, out: flat)
                } else {
                    for r in 0..<rows { smallNDot1(k: k, a: p.aAt(i + r, 0), pb: pb, out: flat + 4 * r) }
                }
                for r in 0..<rows {
                    for j in 0..<cols { gemmFinishElement(flat[r * 4 + j], p.c + (i + r) * p.ldc + jg + j, p, jg + j) }
                }
                i += rows
            }
        }
        jg += 4
    }
}
