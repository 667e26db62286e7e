import Foundation

// Register tile: MR rows x NR columns of C live in 28 zmm accumulators (two SIMD16<Float> per row),
// plus two for the B row and one for the broadcast A element: 31 of the 32 AVX-512 registers.
// NOTE: the accumulators are spelled out as separate variables rather than an array or tuple so the
// optimiser keeps every one of them in a register; the inner loop is then only vmovups (2 loads of
// B), vbroadcastss (14 loads of A) and vfmadd231ps (28).

/// Rows of C per micro-tile (the height of a packed A panel). On AVX2 (`MMOE_AVX2`) 16: the model's
/// row counts (128- and 256-row shards, 64- to 256-wide layers) are multiples of 16, so no panel is
/// a short edge; 14 is what fits AVX-512's 32 registers (see the kernel below).
#if MMOE_AVX2
@usableFromInline let gemmMR = 16
#else
@usableFromInline let gemmMR = 14
#endif
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

/// The micro-kernel: `C[0..<rows, 0..<NR] = epilogue(sum over p < kc of pa[p*MR + r] * pb[p*ldb + j])`.
/// It always computes MR rows (the packed panel is zero-padded) but stores only the first `rows`, so
/// a bottom-edge tile writes straight into C.
/// `pa` is a packed A panel (kc x MR, k-major), `pb` a B panel (kc x NR, k-major): packed (`ldb`
/// NR), or NR columns of B itself (`ldb` its row stride, `gemmReadsBInPlace`). Every
/// accumulator sums its k-range strictly in order with fused multiply-adds, which is what makes the
/// result independent of where the tile sits in the matrix (and so of the thread split).
#if MMOE_AVX2
/// The micro-kernel on a CPU without AVX-512 (`MMOE_AVX2`, set by Package.swift for AVX2 targets):
/// the AVX-512 kernel's 28 accumulators would be 56 ymm registers of the 16 AVX2 has, and spill on
/// every step (the GEMM ran at 0.35-0.46x OpenBLAS on a Zen 3). Here the tile is 16 x 32, computed in
/// passes that each fit the 16 registers: rows 0-5, 6-10 and 11-15 of one 16-column half at a time
/// (12 or 10 accumulators, two B vectors, the broadcast A element).
/// NOTE: why these passes rather than 8-column strips (one B vector, one accumulator per row)? A
/// strip needs a broadcast per FMA, and Zen 3 issues two broadcasts a cycle, as many as FMAs; a
/// pass of r rows needs r broadcasts per 2r FMAs. Why 16 rows (since 2026-12-05; it was the
/// AVX-512 kernel's 14, as 5 + 5 + 4)? The shards' 128 and 256 rows and the layers' widths are
/// multiples of 16, so every panel is full: with 14, a 128-row block ended in a 2-row panel and a
/// 192-row one in 10, and the 4-row pass had 8 accumulators, just the 4-cycle FMA latency's worth.
/// The passes run over k in chunks of at most `avx2KChunk` steps (cut evenly: a kc of 272 is 91 +
/// 91 + 90, not 128 + 128 + 16), the tile's accumulators parked on the stack between chunks, so one
/// chunk's A and B panels stay in the 32 KiB L1 across its six passes.
/// Every element of C is the same sequence of fused multiply-adds over k as in the AVX-512 kernel
/// (parking a Float in memory is exact), merged by the same epilogue, so the results are the same
/// bits whatever the tile's height.
/// NOTE: the park is two `withUnsafeTemporaryAllocation`s of 1,024 bytes, one per 16-column half.
/// That call places up to 1 KiB on the stack and goes to malloc above it: as one 1,792-byte tile
/// it cost a malloc and a free per call (~4% of a two-thread step). A Swift value of that size
/// instead is zeroed on every call, a memset (~1.2% of a one-thread DeepRec step); no parked value
/// is read before a pass has written it, so the park needs no zeroing.
@inline(never)
@usableFromInline func sgemmMicroKernel(kc: Int, pa: UnsafePointer<Float>, pb: UnsafePointer<Float>, ldb: Int = gemmNR,
                                        c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int = gemmMR, ep: GEMMEpilogue) {
    withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 2 * gemmMR) { park0 in
        withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 2 * gemmMR) { park1 in
            // Half h's park: row r's two vectors (columns 16h + 0..<8, 16h + 8..<16) at 2r, 2r + 1.
            let acc0 = park0.baseAddress!, acc1 = park1.baseAddress!
            let chunks = (kc + avx2KChunk - 1) / avx2KChunk
            var p0 = 0, chunk = 0
            while p0 < kc {
                chunk += 1
                let n = kc * chunk / chunks - p0, first = p0 == 0
                let a = pa + p0 * gemmMR, b = pb + p0 * ldb
                for half in 0..<2 {
                    let bh = b + 16 * half, ah = half == 0 ? acc0 : acc1
                    sgemmPass6(n, a, bh, ldb, ah, first)
                    if rows > 6 { sgemmPass5(n, a + 6, bh, ldb, ah + 12, first) }
                    if rows > 11 { sgemmPass5(n, a + 11, bh, ldb, ah + 22, first) }
                }
                p0 += n
            }
            // kc == 0: no pass ran, and the tile is zero.
            if kc == 0 { acc0.initialize(repeating: .zero, count: 2 * gemmMR); acc1.initialize(repeating: .zero, count: 2 * gemmMR) }
            var bias = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
            if let b = ep.bias { bias = (load8(b), load8(b + 8), load8(b + 16), load8(b + 24)) }
            for r in 0..<rows {
                let row = c + r * ldc, x = acc0 + 2 * r, y = acc1 + 2 * r
                storeRow8(x[0], row, ep, bias.0)
                storeRow8(x[1], row + 8, ep, bias.1)
                storeRow8(y[0], row + 16, ep, bias.2)
                storeRow8(y[1], row + 24, ep, bias.3)
            }
        }
    }
}

/// The most steps of k per chunk of the AVX2 kernel: a chunk's A panel (16 x 128) and B panel
/// (128 x 32) are 24 KiB, inside Zen 3's 32 KiB L1 with room for the park.
private let avx2KChunk = 128

/// Rows 0-5 of `a` (a packed A panel, rows `gemmMR` apart along k) against 16 columns of `b` (a
/// packed B panel, rows `gemmNR` apart) for `n` steps of k, continuing the accumulators at `acc`
/// (rows 2 vectors apart; zero when `first`) and parking them there.
@inline(__always)
private func sgemmPass6(_ n: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int,
                        _ acc: UnsafeMutablePointer<SIMD8<Float>>, _ first: Bool) {
    var c0a = SIMD8<Float>(), c0b = SIMD8<Float>(), c1a = SIMD8<Float>(), c1b = SIMD8<Float>()
    var c2a = SIMD8<Float>(), c2b = SIMD8<Float>(), c3a = SIMD8<Float>(), c3b = SIMD8<Float>()
    var c4a = SIMD8<Float>(), c4b = SIMD8<Float>(), c5a = SIMD8<Float>(), c5b = SIMD8<Float>()
    if !first {
        (c0a, c0b, c1a, c1b) = (acc[0], acc[1], acc[2], acc[3])
        (c2a, c2b, c3a, c3b) = (acc[4], acc[5], acc[6], acc[7])
        (c4a, c4b, c5a, c5b) = (acc[8], acc[9], acc[10], acc[11])
    }
    var ap = a, bp = b
    for _ in 0..<n {
        let b0 = load8(bp), b1 = load8(bp + 8)
        var av: SIMD8<Float>
        av = SIMD8(repeating: ap[0]); c0a.addProduct(av, b0); c0b.addProduct(av, b1)
        av = SIMD8(repeating: ap[1]); c1a.addProduct(av, b0); c1b.addProduct(av, b1)
        av = SIMD8(repeating: ap[2]); c2a.addProduct(av, b0); c2b.addProduct(av, b1)
        av = SIMD8(repeating: ap[3]); c3a.addProduct(av, b0); c3b.addProduct(av, b1)
        av = SIMD8(repeating: ap[4]); c4a.addProduct(av, b0); c4b.addProduct(av, b1)
        av = SIMD8(repeating: ap[5]); c5a.addProduct(av, b0); c5b.addProduct(av, b1)
        ap += gemmMR; bp += ldb
    }
    (acc[0], acc[1], acc[2], acc[3]) = (c0a, c0b, c1a, c1b)
    (acc[4], acc[5], acc[6], acc[7]) = (c2a, c2b, c3a, c3b)
    (acc[8], acc[9], acc[10], acc[11]) = (c4a, c4b, c5a, c5b)
}

/// `sgemmPass6` for 5 rows.
@inline(__always)
private func sgemmPass5(_ n: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int,
                        _ acc: UnsafeMutablePointer<SIMD8<Float>>, _ first: Bool) {
    var c0a = SIMD8<Float>(), c0b = SIMD8<Float>(), c1a = SIMD8<Float>(), c1b = SIMD8<Float>()
    var c2a = SIMD8<Float>(), c2b = SIMD8<Float>(), c3a = SIMD8<Float>(), c3b = SIMD8<Float>()
    var c4a = SIMD8<Float>(), c4b = SIMD8<Float>()
    if !first {
        (c0a, c0b, c1a, c1b) = (acc[0], acc[1], acc[2], acc[3])
        (c2a, c2b, c3a, c3b) = (acc[4], acc[5], acc[6], acc[7])
        (c4a, c4b) = (acc[8], acc[9])
    }
    var ap = a, bp = b
    for _ in 0..<n {
        let b0 = load8(bp), b1 = load8(bp + 8)
        var av: SIMD8<Float>
        av = SIMD8(repeating: ap[0]); c0a.addProduct(av, b0); c0b.addProduct(av, b1)
        av = SIMD8(repeating: ap[1]); c1a.addProduct(av, b0); c1b.addProduct(av, b1)
        av = SIMD8(repeating: ap[2]); c2a.addProduct(av, b0); c2b.addProduct(av, b1)
        av = SIMD8(repeating: ap[3]); c3a.addProduct(av, b0); c3b.addProduct(av, b1)
        av = SIMD8(repeating: ap[4]); c4a.addProduct(av, b0); c4b.addProduct(av, b1)
        ap += gemmMR; bp += ldb
    }
    (acc[0], acc[1], acc[2], acc[3]) = (c0a, c0b, c1a, c1b)
    (acc[4], acc[5], acc[6], acc[7]) = (c2a, c2b, c3a, c3b)
    (acc[8], acc[9]) = (c4a, c4b)
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
@usableFromInline func sgemmMicroKernel(kc: Int, pa: UnsafePointer<Float>, pb: UnsafePointer<Float>, ldb: Int = gemmNR,
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
        a += 14; b += ldb
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
