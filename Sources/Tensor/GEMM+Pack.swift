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
    let mr = gemmMR
    var out = dst
    var i = 0
    while i < mc {
        let rows = min(mr, mc - i)
        if transA {
            // op(A)[i+r, p] = a[p*lda + i + r]: each k step is a contiguous run of `rows` floats.
            var src = a + i
            for _ in 0..<kc {
                for r in 0..<rows { out[r] = src[r] }
                for r in rows..<mr { out[r] = 0 }
                src += lda; out += mr
            }
        } else {
            // op(A)[i+r, p] = a[(i+r)*lda + p]: a transpose. Walk each source row contiguously
            // (the reads are the expensive side) and scatter with stride MR into the panel.
            for r in 0..<rows {
                let src = a + (i + r) * lda
                var d = out + r
                var p = 0
                while p + 4 <= kc {
                    d[0] = src[p]; d[mr] = src[p + 1]; d[2 * mr] = src[p + 2]; d[3 * mr] = src[p + 3]
                    d += 4 * mr; p += 4
                }
                while p < kc { d[0] = src[p]; d += mr; p += 1 }
            }
            if rows < mr {
                for p in 0..<kc { for r in rows..<mr { out[p * mr + r] = 0 } }
            }
            out += kc * mr
        }
        i += mr
    }
}

/// Packs columns `0..<nc`, k-range `0..<kc` of op(B) (already offset to the block's origin) into
/// ceil(nc/NR) panels of `kc * NR` floats.
@usableFromInline func packB(transB: Bool, b: UnsafePointer<Float>, ldb: Int, kc: Int, nc: Int,
                             into dst: UnsafeMutablePointer<Float>) {
    let nr = gemmNR
    var out = dst
    var j = 0
    while j < nc {
        let cols = min(nr, nc - j)
        if !transB {
            // op(B)[p, j+q] = b[p*ldb + j + q]: rows of the panel are contiguous in B.
            var src = b + j
            if cols == nr {
                for _ in 0..<kc {
                    copy16(src, out); copy16(src + 16, out + 16)
                    src += ldb; out += nr
                }
            } else {
                for _ in 0..<kc {
                    for q in 0..<cols { out[q] = src[q] }
                    for q in cols..<nr { out[q] = 0 }
                    src += ldb; out += nr
                }
            }
        } else {
            // op(B)[p, j+q] = b[(j+q)*ldb + p]: a transpose, read each source row contiguously.
            for q in 0..<cols {
                let src = b + (j + q) * ldb
                var d = out + q
                var p = 0
                while p + 4 <= kc {
                    d[0] = src[p]; d[nr] = src[p + 1]; d[2 * nr] = src[p + 2]; d[3 * nr] = src[p + 3]
                    d += 4 * nr; p += 4
                }
                while p < kc { d[0] = src[p]; d += nr; p += 1 }
            }
            if cols < nr {
                for p in 0..<kc { for q in cols..<nr { out[p * nr + q] = 0 } }
            }
            out += kc * nr
        }
        j += nr
    }
}
