// Panel packing. Both operands are copied into the layout the micro-kernel streams through:
// A into MR-row panels stored k-major (`pa[p*MR + r]`), B into NR-column panels stored k-major
// (`pb[p*NR + j]`). Packing absorbs both transposes, so one kernel serves NN, NT, TN and TT, and it
// zero-pads the last panel so edge tiles run the same kernel (the padding only feeds rows/columns
// of the tile that are never written back). Packing only moves values: the packed buffer, and so
// the GEMM result, does not depend on how a panel is copied.
// With `roundToBFloat16` every value is rounded to bfloat16 on its way into the panel (in the same
// vector registers that carry it; see GEMM+BFloat16.swift): the micro-kernel never knows. The loops
// are generic over that conversion (`PackConversion`), so each is compiled twice and the plain copy
// is exactly the loop it was.

/// Packs rows `0..<mc`, k-range `0..<kc` of op(A) (already offset to the block's origin) into
/// ceil(mc/MR) panels of `kc * MR` floats.
@usableFromInline func packA(transA: Bool, a: UnsafePointer<Float>, lda: Int, mc: Int, kc: Int,
                             into dst: UnsafeMutablePointer<Float>, roundToBFloat16: Bool = false) {
    // With transA, op(A)[i, p] = a[p*lda + i]: the rows of a panel sit side by side in memory.
    if roundToBFloat16 {
        packPanels(a, ld: lda, lines: mc, kc: kc, width: gemmMR, linesAdjacent: transA, PackRoundBFloat16.self, into: dst)
    } else {
        packPanels(a, ld: lda, lines: mc, kc: kc, width: gemmMR, linesAdjacent: transA, PackCopy.self, into: dst)
    }
}

/// Packs columns `0..<nc`, k-range `0..<kc` of op(B) (already offset to the block's origin) into
/// ceil(nc/NR) panels of `kc * NR` floats.
@usableFromInline func packB(transB: Bool, b: UnsafePointer<Float>, ldb: Int, kc: Int, nc: Int,
                             into dst: UnsafeMutablePointer<Float>, roundToBFloat16: Bool = false) {
    // Without transB, op(B)[p, j] = b[p*ldb + j]: the columns of a panel sit side by side in memory.
    if roundToBFloat16 {
        packPanels(b, ld: ldb, lines: nc, kc: kc, width: gemmNR, linesAdjacent: !transB, PackRoundBFloat16.self, into: dst)
    } else {
        packPanels(b, ld: ldb, lines: nc, kc: kc, width: gemmNR, linesAdjacent: !transB, PackCopy.self, into: dst)
    }
}

/// The one packing loop behind both operands. A "line" is a row of op(A) or a column of op(B); a
/// panel holds `width` lines, stored k-major: `panel[p*width + r]` is line r at step p. When
/// `linesAdjacent`, element (line r, step p) is `src[p*ld + r]` (one contiguous run per step);
/// otherwise it is `src[r*ld + p]` (a transpose). The last panel is zero-padded to `width` lines.
/// Reads only the `lines x kc` elements; writes exactly `ceil(lines/width) * kc * width` floats.
/// Every value goes through `C.apply` (a copy, or bfloat16 rounding).
@inline(__always)
private func packPanels<C: PackConversion>(_ src: UnsafePointer<Float>, ld: Int, lines: Int, kc: Int, width: Int,
                                           linesAdjacent: Bool, _ c: C.Type, into dst: UnsafeMutablePointer<Float>) {
    if linesAdjacent {
        packAdjacent(src, ld: ld, lines: lines, kc: kc, width: width, c, into: dst)
        return
    }
    #if MMOE_AVX2
    // The 8-line groups of the AVX2 transpose must tile the panel.
    assert(width % 8 == 0, "packPanels: width \(width) is not a multiple of 8")
    #else
    // The 16-float stores of the transpose spill past a group of lines only when one group covers the panel.
    assert(width < 16 || width % 16 == 0, "packPanels: width \(width) is neither < 16 nor a multiple of 16")
    #endif
    var out = dst
    var l = 0
    while l < lines {
        packTransposedPanel(src + l &* ld, ld: ld, lines: lines &- l, kc: kc, width: width, c, into: out)
        out += kc &* width
        l &+= width
    }
}

/// All panels of lines that sit side by side: step p of panel q is the run
/// `src[p*ld + q*width ..< p*ld + (q+1)*width]`.
/// NOTE: the copy walks the source row by row, each row across a chunk of panels (~1 KiB of it),
/// rather than panel by panel. Panel by panel reads every row once per panel, 56 or 128 bytes at a
/// time, `ld` apart; with ld = 1024 (4 KiB strides, which alias in L1) that ran 2-4x slower. Full
/// panels copy whole runs in vector moves (14 = 8 + 4 + 2); the last, partial panel goes element by
/// element and is zero-padded.
@inline(__always)
private func packAdjacent<C: PackConversion>(_ src: UnsafePointer<Float>, ld: Int, lines: Int, kc: Int, width: Int,
                                             _ c: C.Type, into dst: UnsafeMutablePointer<Float>) {
    let full = lines / width, panel = kc &* width
    let chunk = max(1, 256 / width)
    var q0 = 0
    while q0 < full {
        let panels = min(chunk, full &- q0)
        for p in 0..<kc {
            var s = src + (p &* ld &+ q0 &* width), d = dst + (q0 &* panel &+ p &* width)
            for _ in 0..<panels { copyRun(s, d, width: width, c); s += width; d += panel }
        }
        q0 &+= panels
    }
    let count = lines &- full &* width
    if count > 0 {
        var s = src + full &* width, d = dst + full &* panel
        for _ in 0..<kc {
            for r in 0..<count { d[r] = C.apply(s[r]) }
            for r in count..<width { d[r] = 0 }
            s += ld; d += width
        }
    }
}

/// Copies `width` floats through `C.apply`.
@inline(__always)
private func copyRun<C: PackConversion>(_ s: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, width: Int, _: C.Type) {
    if width == 32 {
        store16(C.apply(load16(s)), d)
        store16(C.apply(load16(s + 16)), d + 16)
    } else if width == 16 {
        store16(C.apply(load16(s)), d)
    } else if width == 14 {
        let from = UnsafeRawPointer(s), to = UnsafeMutableRawPointer(d)
        var v8 = from.loadUnaligned(as: SIMD8<Float>.self)
        var v4 = from.loadUnaligned(fromByteOffset: 32, as: SIMD4<Float>.self)
        var v2 = from.loadUnaligned(fromByteOffset: 48, as: SIMD2<Float>.self)
        if !C.isCopy {
            // One 16-lane conversion of the 14 values (2 zero lanes); never reads past the run.
            let r = C.apply(SIMD16(lowHalf: v8, highHalf: SIMD8(lowHalf: v4, highHalf: SIMD4(lowHalf: v2, highHalf: SIMD2()))))
            v8 = r.lowHalf; v4 = r.highHalf.lowHalf; v2 = r.highHalf.highHalf.lowHalf
        }
        to.storeBytes(of: v8, as: SIMD8<Float>.self)
        to.storeBytes(of: v4, toByteOffset: 32, as: SIMD4<Float>.self)
        to.storeBytes(of: v2, toByteOffset: 48, as: SIMD2<Float>.self)
    } else {
        for r in 0..<width { d[r] = C.apply(s[r]) }
    }
}

/// One panel whose lines are contiguous along k: line r is `src[r*ld ..< r*ld + kc]`. The panel's
/// first `min(width, lines)` lines carry data, the rest of its `width` are zero; `lines` is how many
/// lines from `src` on may be read (this panel's and the following ones').
/// NOTE: the transpose goes through registers, 16 lines x 16 steps at a time: 16 vector loads (one
/// per line), a 16 x 16 transpose in shuffles, 16 vector stores (one per step). Copying element by
/// element scatters every value with stride `width`, a scalar store each: that loop was ~15% of a
/// training step (perf, 1 thread) and this one packs ~3.3x faster. A width-14 panel is transposed
/// as 16 lines, the 2 extra being the next panel's first lines (or zeros): each 16-float store
/// spills 2 values onto the next step's first slots, which the next store overwrites, and the
/// panel's last step is stored short so nothing lands outside the panel. A k tail shorter than 16
/// re-transposes the last 16 steps (rewriting some with the same values) rather than reading past
/// the line; kc < 16 goes element by element.
#if MMOE_AVX2
/// The same on AVX2 (`MMOE_AVX2`), 8 lines x 8 steps at a time: the 16 x 16 block is 32 ymm
/// registers of the 16 AVX2 has and spilled. AVX2's panels are 16 (A) and 32 (B) lines wide, so
/// every group of 8 lines lies inside its panel and no store spills past it.
@inline(__always)
private func packTransposedPanel<C: PackConversion>(_ src: UnsafePointer<Float>, ld: Int, lines: Int, kc: Int, width: Int,
                                                    _: C.Type, into out: UnsafeMutablePointer<Float>) {
    let count = min(width, lines)
    if kc < 8 {
        for p in 0..<kc {
            for r in 0..<width {
                let v = r < count ? src[r &* ld &+ p] : 0
                out[p &* width &+ r] = C.apply(v)
            }
        }
        return
    }
    withUnsafePointer(to: SIMD8<Float>()) { zeroVector in
        let zeros = UnsafeRawPointer(zeroVector).assumingMemoryBound(to: Float.self)
        var g = 0
        while g < width {
            // Lines g..<g+8, of which the first `real` carry data (the rest of the panel is zero).
            let real = min(8, count &- g)
            let base = src + g &* ld
            if real == 8 {
                packTransposedGroup(base, ld: ld, kc: kc, width: width, C.self, into: out + g)
                g &+= 8
                continue
            }
            var p0 = 0
            while true {
                let s = base + p0
                @inline(__always) func line(_ r: Int) -> SIMD8<Float> { load8(r < real ? s + r &* ld : zeros) }
                let t = transpose8((line(0), line(1), line(2), line(3), line(4), line(5), line(6), line(7)))
                let d = out + (p0 &* width &+ g)
                @inline(__always) func put(_ j: Int, _ v: SIMD8<Float>) { store8(C.apply(v), d + j &* width) }
                put(0, t.0); put(1, t.1); put(2, t.2); put(3, t.3)
                put(4, t.4); put(5, t.5); put(6, t.6); put(7, t.7)
                if p0 &+ 8 == kc { break }
                p0 = min(p0 &+ 8, kc &- 8)
            }
            g &+= 8
        }
    }
}

/// Lines `packTransposedGroup` moves at once: one transpose block.
let packGroupLines = 8

/// `packGroupLines` whole lines (`src + r·ld`, steps 0 ..< kc, all readable) through `C.apply`
/// into slots `out[p·width + r]` of a panel, the panel's other slots untouched: a full group of
/// `packTransposedPanel`, or one of a kept pack's, rewritten by `WeightPackRefresh`. A k tail
/// re-transposes the last 8 steps.
@inline(__always)
func packTransposedGroup<C: PackConversion>(_ src: UnsafePointer<Float>, ld: Int, kc: Int, width: Int, _: C.Type,
                                            into out: UnsafeMutablePointer<Float>) {
    if kc < 8 {
        for p in 0..<kc { for r in 0..<8 { out[p &* width &+ r] = C.apply(src[r &* ld &+ p]) } }
        return
    }
    var p0 = 0
    while true {
        let s = src + p0
        let t = transpose8((load8(s), load8(s + ld), load8(s + 2 &* ld), load8(s + 3 &* ld),
                            load8(s + 4 &* ld), load8(s + 5 &* ld), load8(s + 6 &* ld), load8(s + 7 &* ld)))
        let d = out + p0 &* width
        @inline(__always) func put(_ j: Int, _ v: SIMD8<Float>) { store8(C.apply(v), d + j &* width) }
        put(0, t.0); put(1, t.1); put(2, t.2); put(3, t.3); put(4, t.4); put(5, t.5); put(6, t.6); put(7, t.7)
        if p0 &+ 8 == kc { break }
        p0 = min(p0 &+ 8, kc &- 8)
    }
}

/// Eight 8-float vectors: the rows of an 8 x 8 block.
private typealias Block8 = (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>,
                            SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)

/// The transpose of an 8 x 8 block, by the bit swaps of `transpose16` (bit 1 in UInt64 lanes,
/// bit 0 in Float lanes, bit 2 in UInt64 lanes: the lane types alternate for LLVM's sake, as there).
@inline(__always)
private func transpose8(_ x: Block8) -> Block8 {
    let (a0, a2) = swapPairs8(x.0, x.2), (a1, a3) = swapPairs8(x.1, x.3)
    let (a4, a6) = swapPairs8(x.4, x.6), (a5, a7) = swapPairs8(x.5, x.7)
    let (b0, b1) = swapSingles8(a0, a1), (b2, b3) = swapSingles8(a2, a3)
    let (b4, b5) = swapSingles8(a4, a5), (b6, b7) = swapSingles8(a6, a7)
    let (c0, c4) = swapHalves8(b0, b4), (c1, c5) = swapHalves8(b1, b5)
    let (c2, c6) = swapHalves8(b2, b6), (c3, c7) = swapHalves8(b3, b7)
    return (c0, c1, c2, c3, c4, c5, c6, c7)
}

/// `swapBlocks1` for 8 lanes.
@inline(__always)
private func swapSingles8(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> (SIMD8<Float>, SIMD8<Float>) {
    (SIMD8(a[0], b[0], a[2], b[2], a[4], b[4], a[6], b[6]), SIMD8(a[1], b[1], a[3], b[3], a[5], b[5], a[7], b[7]))
}

/// `swapBlocks2` for 8 lanes (one UInt64 lane per pair).
@inline(__always)
private func swapPairs8(_ x: SIMD8<Float>, _ y: SIMD8<Float>) -> (SIMD8<Float>, SIMD8<Float>) {
    let a = unsafeBitCast(x, to: SIMD4<UInt64>.self), b = unsafeBitCast(y, to: SIMD4<UInt64>.self)
    return (unsafeBitCast(SIMD4(a[0], b[0], a[2], b[2]), to: SIMD8<Float>.self),
            unsafeBitCast(SIMD4(a[1], b[1], a[3], b[3]), to: SIMD8<Float>.self))
}

/// `swapBlocks4` for 8 lanes: the 128-bit halves trade places.
@inline(__always)
private func swapHalves8(_ x: SIMD8<Float>, _ y: SIMD8<Float>) -> (SIMD8<Float>, SIMD8<Float>) {
    let a = unsafeBitCast(x, to: SIMD4<UInt64>.self), b = unsafeBitCast(y, to: SIMD4<UInt64>.self)
    return (unsafeBitCast(SIMD4(a[0], a[1], b[0], b[1]), to: SIMD8<Float>.self),
            unsafeBitCast(SIMD4(a[2], a[3], b[2], b[3]), to: SIMD8<Float>.self))
}
#else
@inline(__always)
private func packTransposedPanel<C: PackConversion>(_ src: UnsafePointer<Float>, ld: Int, lines: Int, kc: Int, width: Int,
                                                    _: C.Type, into out: UnsafeMutablePointer<Float>) {
    let count = min(width, lines)
    if kc < 16 {
        for p in 0..<kc {
            for r in 0..<width {
                let v = r < count ? src[r &* ld &+ p] : 0
                out[p &* width &+ r] = C.apply(v)
            }
        }
        return
    }
    withUnsafePointer(to: SIMD16<Float>()) { zeroVector in
        let zeros = UnsafeRawPointer(zeroVector).assumingMemoryBound(to: Float.self)
        var g = 0
        while g < width {
            // Lines g..<g+16: the first `cols` belong to the panel, of which the first `real` carry data.
            let cols = min(16, width &- g), real = min(cols, count &- g)
            let base = src + g &* ld
            if cols == 16 && lines &- g >= 16 {
                packTransposedGroup(base, ld: ld, kc: kc, width: width, C.self, into: out + g)
                g &+= 16
                continue
            }
            // A width-14 panel's group, or the matrix's last lines.
            var p0 = 0
            while true {
                let s = base + p0
                let t: Block16
                if lines &- g >= 16 {
                    // All 16 lines readable (any beyond the panel only reach spilled slots).
                    t = transpose16((load16(s), load16(s + ld), load16(s + 2 &* ld), load16(s + 3 &* ld),
                                     load16(s + 4 &* ld), load16(s + 5 &* ld), load16(s + 6 &* ld), load16(s + 7 &* ld),
                                     load16(s + 8 &* ld), load16(s + 9 &* ld), load16(s + 10 &* ld), load16(s + 11 &* ld),
                                     load16(s + 12 &* ld), load16(s + 13 &* ld), load16(s + 14 &* ld), load16(s + 15 &* ld)))
                } else {
                    // The matrix's last lines: the missing ones are read from a zero vector.
                    @inline(__always) func line(_ r: Int) -> SIMD16<Float> { load16(r < real ? s + r &* ld : zeros) }
                    t = transpose16((line(0), line(1), line(2), line(3), line(4), line(5), line(6), line(7),
                                     line(8), line(9), line(10), line(11), line(12), line(13), line(14), line(15)))
                }
                let d = out + (p0 &* width &+ g)
                @inline(__always) func put(_ j: Int, _ v: SIMD16<Float>) { store16(C.apply(v), d + j &* width) }
                put(0, t.0); put(1, t.1); put(2, t.2); put(3, t.3)
                put(4, t.4); put(5, t.5); put(6, t.6); put(7, t.7)
                put(8, t.8); put(9, t.9); put(10, t.10); put(11, t.11)
                put(12, t.12); put(13, t.13); put(14, t.14)
                if cols == 16 || p0 &+ 16 < kc {
                    put(15, t.15)
                } else {
                    let last = d + 15 &* width
                    let v = C.apply(t.15)
                    for r in 0..<cols { last[r] = v[r] }
                }
                if p0 &+ 16 == kc { break }
                p0 = min(p0 &+ 16, kc &- 16)
            }
            g &+= 16
        }
    }
}

/// Lines `packTransposedGroup` moves at once: one transpose block.
let packGroupLines = 16

/// `packGroupLines` whole lines (`src + r·ld`, steps 0 ..< kc, all readable) through `C.apply`
/// into slots `out[p·width + r]` of a panel, the panel's other slots untouched: a full group of
/// `packTransposedPanel`, or one of a kept pack's, rewritten by `WeightPackRefresh`. A k tail
/// re-transposes the last 16 steps.
@inline(__always)
func packTransposedGroup<C: PackConversion>(_ src: UnsafePointer<Float>, ld: Int, kc: Int, width: Int, _: C.Type,
                                            into out: UnsafeMutablePointer<Float>) {
    if kc < 16 {
        for p in 0..<kc { for r in 0..<16 { out[p &* width &+ r] = C.apply(src[r &* ld &+ p]) } }
        return
    }
    var p0 = 0
    while true {
        let s = src + p0
        let t = transpose16((load16(s), load16(s + ld), load16(s + 2 &* ld), load16(s + 3 &* ld),
                             load16(s + 4 &* ld), load16(s + 5 &* ld), load16(s + 6 &* ld), load16(s + 7 &* ld),
                             load16(s + 8 &* ld), load16(s + 9 &* ld), load16(s + 10 &* ld), load16(s + 11 &* ld),
                             load16(s + 12 &* ld), load16(s + 13 &* ld), load16(s + 14 &* ld), load16(s + 15 &* ld)))
        let d = out + p0 &* width
        @inline(__always) func put(_ j: Int, _ v: SIMD16<Float>) { store16(C.apply(v), d + j &* width) }
        put(0, t.0); put(1, t.1); put(2, t.2); put(3, t.3); put(4, t.4); put(5, t.5); put(6, t.6); put(7, t.7)
        put(8, t.8); put(9, t.9); put(10, t.10); put(11, t.11); put(12, t.12); put(13, t.13); put(14, t.14); put(15, t.15)
        if p0 &+ 16 == kc { break }
        p0 = min(p0 &+ 16, kc &- 16)
    }
}

#endif

/// Sixteen 16-float vectors: the rows of a 16 x 16 block.
private typealias Block16 = (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>,
                             SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>,
                             SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>,
                             SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>)

/// The transpose of a 16 x 16 block: `result.j[i] == x.i[j]`.
/// Number the elements `row << 4 | column`; the transpose swaps the 4 row bits with the 4 column
/// bits. Swapping row bit b with column bit b pairs the rows that differ in bit b and trades blocks
/// of 2^b elements between them (`swapBlocks1` ... `swapBlocks8`); the four swaps commute.
/// NOTE: the order (bit 1, 0, 3, 2) and the lane types (UInt64 and Float in turn) are chosen for
/// LLVM, not for the arithmetic. With every stage in Float lanes its shuffle combiner traces each
/// output element back to the loads and rebuilds every row element by element (~600 instructions
/// per block instead of ~100, and 2.5x slower); changing lane width between stages keeps the stages
/// apart. Check `objdump -d` (vpermt2ps/vpermt2q, vunpck*, vinsert*, no vbroadcastss/vinsertps)
/// after touching this.
@inline(__always)
private func transpose16(_ x: Block16) -> Block16 {
    let (a0, a2) = swapBlocks2(x.0, x.2), (a1, a3) = swapBlocks2(x.1, x.3)
    let (a4, a6) = swapBlocks2(x.4, x.6), (a5, a7) = swapBlocks2(x.5, x.7)
    let (a8, a10) = swapBlocks2(x.8, x.10), (a9, a11) = swapBlocks2(x.9, x.11)
    let (a12, a14) = swapBlocks2(x.12, x.14), (a13, a15) = swapBlocks2(x.13, x.15)
    let (b0, b1) = swapBlocks1(a0, a1), (b2, b3) = swapBlocks1(a2, a3)
    let (b4, b5) = swapBlocks1(a4, a5), (b6, b7) = swapBlocks1(a6, a7)
    let (b8, b9) = swapBlocks1(a8, a9), (b10, b11) = swapBlocks1(a10, a11)
    let (b12, b13) = swapBlocks1(a12, a13), (b14, b15) = swapBlocks1(a14, a15)
    let (c0, c8) = swapBlocks8(b0, b8), (c1, c9) = swapBlocks8(b1, b9)
    let (c2, c10) = swapBlocks8(b2, b10), (c3, c11) = swapBlocks8(b3, b11)
    let (c4, c12) = swapBlocks8(b4, b12), (c5, c13) = swapBlocks8(b5, b13)
    let (c6, c14) = swapBlocks8(b6, b14), (c7, c15) = swapBlocks8(b7, b15)
    let (d0, d4) = swapBlocks4(c0, c4), (d1, d5) = swapBlocks4(c1, c5)
    let (d2, d6) = swapBlocks4(c2, c6), (d3, d7) = swapBlocks4(c3, c7)
    let (d8, d12) = swapBlocks4(c8, c12), (d9, d13) = swapBlocks4(c9, c13)
    let (d10, d14) = swapBlocks4(c10, c14), (d11, d15) = swapBlocks4(c11, c15)
    return (d0, d1, d2, d3, d4, d5, d6, d7, d8, d9, d10, d11, d12, d13, d14, d15)
}

/// Rows a, b (differing in row bit 0) after swapping row bit 0 with column bit 0: single elements
/// trade places, `(a0 b0 a2 b2 ...)` and `(a1 b1 a3 b3 ...)`.
@inline(__always)
private func swapBlocks1(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> (SIMD16<Float>, SIMD16<Float>) {
    (SIMD16(a[0], b[0], a[2], b[2], a[4], b[4], a[6], b[6], a[8], b[8], a[10], b[10], a[12], b[12], a[14], b[14]),
     SIMD16(a[1], b[1], a[3], b[3], a[5], b[5], a[7], b[7], a[9], b[9], a[11], b[11], a[13], b[13], a[15], b[15]))
}

/// The same for bit 1: pairs of elements trade places (one UInt64 lane per pair).
@inline(__always)
private func swapBlocks2(_ x: SIMD16<Float>, _ y: SIMD16<Float>) -> (SIMD16<Float>, SIMD16<Float>) {
    let a = unsafeBitCast(x, to: SIMD8<UInt64>.self), b = unsafeBitCast(y, to: SIMD8<UInt64>.self)
    return (unsafeBitCast(SIMD8(a[0], b[0], a[2], b[2], a[4], b[4], a[6], b[6]), to: SIMD16<Float>.self),
            unsafeBitCast(SIMD8(a[1], b[1], a[3], b[3], a[5], b[5], a[7], b[7]), to: SIMD16<Float>.self))
}

/// The same for bit 2: blocks of 4 elements trade places.
@inline(__always)
private func swapBlocks4(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> (SIMD16<Float>, SIMD16<Float>) {
    (SIMD16(a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3], a[8], a[9], a[10], a[11], b[8], b[9], b[10], b[11]),
     SIMD16(a[4], a[5], a[6], a[7], b[4], b[5], b[6], b[7], a[12], a[13], a[14], a[15], b[12], b[13], b[14], b[15]))
}

/// The same for bit 3: halves trade places (UInt64 lanes).
@inline(__always)
private func swapBlocks8(_ x: SIMD16<Float>, _ y: SIMD16<Float>) -> (SIMD16<Float>, SIMD16<Float>) {
    let a = unsafeBitCast(x, to: SIMD8<UInt64>.self), b = unsafeBitCast(y, to: SIMD8<UInt64>.self)
    return (unsafeBitCast(SIMD8(a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]), to: SIMD16<Float>.self),
            unsafeBitCast(SIMD8(a[4], a[5], a[6], a[7], b[4], b[5], b[6], b[7]), to: SIMD16<Float>.self))
}
