// Panel packing. Both operands are copied into the layout the micro-kernel streams through:
// A into MR-row panels stored k-major (`pa[p*MR + r]`), B into NR-column panels stored k-major
// (`pb[p*NR + j]`). Packing absorbs both transposes, so one kernel serves NN, NT, TN and TT, and it
// zero-pads the last panel so edge tiles run the same kernel (the padding only feeds rows/columns
// of the tile that are never written back).

@inline(__always)
private func copy16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(dst).storeBytes(of: UnsafeRawPointer(src).loadUnaligned(as: SIMD16<Float>.self),
                                            as: SIMD16<Float>.self)
}

/// Packs rows `0..<mc`, k-range `0..<kc` of op(A) (already offset to the block's origin) into
/// ceil(mc/MR) panels of `kc * MR` floats.
@usableFromInline func packA(transA: Bool, a: UnsafePointer<Float>, lda: Int, mc: Int, kc: Int,
                             into dst: UnsafeMutablePointer<Float>) {
    // With transA, op(A)[i, p] = a[p*lda + i]: the rows of a panel sit side by side in memory.
    packPanels(a, ld: lda, lines: mc, kc: kc, width: gemmMR, linesAdjacent: transA, into: dst)
}

/// Packs columns `0..<nc`, k-range `0..<kc` of op(B) (already offset to the block's origin) into
/// ceil(nc/NR) panels of `kc * NR` floats.
@usableFromInline func packB(transB: Bool, b: UnsafePointer<Float>, ldb: Int, kc: Int, nc: Int,
                             into dst: UnsafeMutablePointer<Float>) {
    // Without transB, op(B)[p, j] = b[p*ldb + j]: the columns of a panel sit side by side in memory.
    packPanels(b, ld: ldb, lines: nc, kc: kc, width: gemmNR, linesAdjacent: !transB, into: dst)
}

/// The one packing loop behind both operands. A "line" is a row of op(A) or a column of op(B); a
/// panel holds `width` lines, stored k-major: `panel[p*width + r]` is line r at step p. When
/// `linesAdjacent`, element (line r, step p) is `src[p*ld + r]` (one contiguous run per step);
/// otherwise it is `src[r*ld + p]` (a transpose: each line is read contiguously along k and
/// scattered with stride `width`, because the reads are the expensive side). The last panel is
/// zero-padded to `width` lines.
@inline(__always)
private func packPanels(_ src: UnsafePointer<Float>, ld: Int, lines: Int, kc: Int, width: Int,
                        linesAdjacent: Bool, into dst: UnsafeMutablePointer<Float>) {
    var out = dst
    var l = 0
    while l < lines {
        let count = min(width, lines - l)
        if linesAdjacent {
            var s = src + l
            if count == 32 && width == 32 {
                for _ in 0..<kc { copy16(s, out); copy16(s + 16, out + 16); s += ld; out += width }
            } else {
                for _ in 0..<kc {
                    for r in 0..<count { out[r] = s[r] }
                    for r in count..<width { out[r] = 0 }
                    s += ld; out += width
                }
            }
        } else {
            for r in 0..<count {
                let line = src + (l + r) * ld
                var d = out + r
                var p = 0
                while p + 4 <= kc {
                    d[0] = line[p]; d[width] = line[p + 1]; d[2 * width] = line[p + 2]; d[3 * width] = line[p + 3]
                    d += 4 * width; p += 4
                }
                while p < kc { d[0] = line[p]; d += width; p += 1 }
            }
            if count < width {
                for p in 0..<kc { for r in count..<width { out[p * width + r] = 0 } }
            }
            out += kc * width
        }
        l += width
    }
}
