import Foundation

// Cache blocking for Zen 5 (L1d 48 KiB, L2 1 MiB per core, L3 32 MiB shared):
// - kc: a packed B micro-panel (kc x NR floats, 32 KiB at kc = 256) stays in L1 while the kernel
//   sweeps every A micro-panel of the block past it.
// - mc: the packed A block (mc x kc, up to ~500 KiB) stays in L2.
// - nc: the packed B block (kc x nc, ~4 MiB) lives in L3.
// NOTE: kc depends on k alone (never on m, n or the thread count): the k-blocks fix the order in
// which every element of C is accumulated, so this is what keeps results bit-identical across
// thread counts and splits.

/// Upper bound of the k-block; k is cut into equal blocks no larger than this.
@usableFromInline let gemmKCMax = 320
/// Rows of op(A) packed at once (a multiple of MR).
@usableFromInline let gemmMC = 28 * gemmMR
/// Columns of op(B) packed at once (a multiple of NR).
@usableFromInline let gemmNC = 3072

/// The k-block size for a given k: the fewest blocks of at most `gemmKCMax`, equally sized.
@inline(__always) func gemmKC(_ k: Int) -> Int {
    let blocks = (k + gemmKCMax - 1) / gemmKCMax
    return (k + blocks - 1) / blocks
}

/// One GEMM (or one disjoint output block of one) with operands already offset to its origin.
@usableFromInline struct GEMMProblem {
    var transA: Bool, transB: Bool
    var m: Int, n: Int, k: Int
    var alpha: Float
    var a: UnsafePointer<Float>, lda: Int
    var b: UnsafePointer<Float>, ldb: Int
    var beta: Float
    var c: UnsafeMutablePointer<Float>, ldc: Int
    var bias: UnsafePointer<Float>?
    var relu: Bool
    /// Round both operands to bfloat16 as they are read (see GEMM+BFloat16.swift).
    var roundToBFloat16 = false

    /// op(A)[i, p] lives here.
    @inline(__always) func aAt(_ i: Int, _ p: Int) -> UnsafePointer<Float> {
        transA ? a + p * lda + i : a + i * lda + p
    }

    /// op(B)[p, j] lives here.
    @inline(__always) func bAt(_ p: Int, _ j: Int) -> UnsafePointer<Float> {
        transB ? b + j * ldb + p : b + p * ldb + j
    }

    /// The output block rows `i0..<i0+rows`, columns `j0..<j0+cols` as a problem of its own.
    func block(rows i0: Int, _ rows: Int, cols j0: Int, _ cols: Int) -> GEMMProblem {
        var s = self
        s.m = rows; s.n = cols
        s.a = aAt(i0, 0); s.b = bAt(0, j0)
        s.c = c + i0 * ldc + j0
        s.bias = bias.map { $0 + j0 }
        return s
    }
}

/// Per-thread packing memory, 64-byte aligned and reused across calls: allocating (and page-faulting)
/// megabytes per call would cost more than a small GEMM itself.
@usableFromInline final class GEMMScratch {
    private(set) var floats: Int = 0
    private(set) var base: UnsafeMutablePointer<Float>?

    func buffer(atLeast count: Int) -> UnsafeMutablePointer<Float> {
        if count > floats {
            base?.deallocate()
            // NOTE: sized for the largest blocking up front rather than grown to fit. Growing
            // re-allocated the buffer when a bigger shape came along, and with the replacement
            // buffer 2-thread mid-size GEMMs ran ~20% slower for the rest of the process
            // (reproducible by shape order alone; likely the new block's placement). One
            // allocation per thread, ~4.5 MiB, avoids that and any later page faults.
            let count = max(count, gemmMC * gemmKCMax + gemmKCMax * gemmNC + 2 * gemmMR * gemmNR)
            let raw = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
            base = raw.bindMemory(to: Float.self, capacity: count)
            floats = count
        }
        return base!
    }

    /// The memo of a whole packed op(A) kept for the next problem (`GEMMAPackReuse`), allocated
    /// at its full size on first use.
    private var memo: UnsafeMutablePointer<Float>?

    func aMemo() -> UnsafeMutablePointer<Float> {
        if let memo { return memo }
        let raw = UnsafeMutableRawPointer.allocate(byteCount: gemmSharedAMaxFloats * 4, alignment: 64)
        let m = raw.bindMemory(to: Float.self, capacity: gemmSharedAMaxFloats)
        memo = m
        return m
    }

    deinit {
        base?.deallocate()
        memo?.deallocate()
    }
}

/// Each thread's scratch buffer, kept in thread-local storage.
/// NOTE: a shared free list was measurably slower (~25% on 256x256x128 with 2 threads): buffers
/// changed hands between the calling thread and the worker on every call, so every packed panel
/// first had to migrate from the other core's L2. Dispatch's worker threads persist, so a
/// thread-local buffer stays warm in its own core's caches.
@usableFromInline enum GEMMScratchPool {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let rc = pthread_key_create(&key) { raw in
            if let raw { Unmanaged<GEMMScratch>.fromOpaque(raw).release() }
        }
        precondition(rc == 0, "GEMM: pthread_key_create failed (\(rc))")
        return key
    }()

    static func with<R>(_ body: (GEMMScratch) -> R) -> R {
        if let raw = pthread_getspecific(key) {
            return body(Unmanaged<GEMMScratch>.fromOpaque(raw).takeUnretainedValue())
        }
        let scratch = GEMMScratch()
        pthread_setspecific(key, Unmanaged.passRetained(scratch).toOpaque())
        return body(scratch)
    }
}

/// Rows of op(A) up to which a plain product (`X · W`) reads B in place.
let gemmInPlaceBMaxRows = 512

/// Whether the blocked GEMM reads op(B)'s full panels where B lies instead of packing them: a
/// plain product (neither operand transposed, no bfloat16 rounding) of at most
/// `gemmInPlaceBMaxRows` rows, on AVX-512. A panel of B is then NR columns of B's rows, `ldb`
/// apart; only a last, partial panel is packed (zero-padded).
/// NOTE: packing B only makes each panel contiguous, and for these shapes the kernel reads the
/// strided rows as fast (Zen 4, one thread, `mmoe-bench gemm`, packing vs in place: 128x272x256
/// 104-107 vs 110 GFLOP/s, 128x475x256 103-106 vs 109, 512x512x512 108.5 vs 111): the pack's
/// writes are saved, and in a training step so is keeping the weights' forward packs (their
/// refresh by the optimizer wrote as many bytes as the weights). With 1024 rows it lost
/// (1024x1024x1024 104 vs 97: the panel is reused by more A panels, and its rows alias in L1),
/// and so did the transposed-A gradient products (256x128x1024 TN 110 vs 106), which keep packing.
/// AVX2's kernel re-reads each B chunk once per pass of rows; unmeasured there, so it packs.
@inline(__always) func gemmReadsBInPlace(_ p: GEMMProblem) -> Bool {
    gemmReadsBInPlace(transA: p.transA, transB: p.transB, m: p.m, bf16: p.roundToBFloat16)
}

@inline(__always) func gemmReadsBInPlace(transA: Bool, transB: Bool, m: Int, bf16: Bool) -> Bool {
    #if MMOE_AVX2
    false
    #else
    !transA && !transB && !bf16 && m <= gemmInPlaceBMaxRows
    #endif
}

@inline(__always) private func roundUp(_ x: Int, _ to: Int) -> Int { (x + to - 1) / to * to }

/// The five BLIS loops around the micro-kernel, single-threaded, for one problem with m, n, k > 0.
/// `aPack` says whether op(A) is packed here block by block, packed whole into the thread's memo
/// for the next problem, or already there.
func gemmBlocked(_ p: GEMMProblem, scratch: GEMMScratch, aPack: GEMMAPackReuse = .none) {
    let mr = gemmMR, nr = gemmNR
    let kcBlock = gemmKC(p.k)
    let ncMax = min(gemmNC, roundUp(p.n, nr))
    let mcMax = min(gemmMC, roundUp(p.m, mr))
    let bFloats = roundUp(kcBlock * ncMax, 16)
    let aFloats = roundUp(mcMax * kcBlock, 16)
    let buf = scratch.buffer(atLeast: bFloats + aFloats + mr * nr + nr)
    let packedB = buf
    let packedA = buf + bFloats
    let tile = packedA + aFloats       // an MR x NR tile for partial edge tiles
    let edgeBias = tile + mr * nr      // NR bias values, zero-padded, for partial edge tiles

    // op(B) read where it lies (`gemmReadsBInPlace`), or already packed by a shared scope (a
    // weight during a training step), or packed here block by block.
    let inPlace = gemmReadsBInPlace(p)
    let shared = inPlace ? nil : GEMMPackScopes.packedB(p)

    // LOOP 5: split n into nc-wide blocks (packed B block in L3).
    var jc = 0
    while jc < p.n {
        let nc = min(gemmNC, p.n - jc)
        // LOOP 4: split k into kc-deep blocks; C accumulates across them in order.
        var pc = 0
        while pc < p.k {
            let kc = min(kcBlock, p.k - pc)
            let first = pc == 0, last = pc + kc == p.k
            let blockB: UnsafeMutablePointer<Float>
            if inPlace {
                blockB = UnsafeMutablePointer(mutating: p.bAt(pc, jc))
                // A last, partial panel is packed (zero-padded) into the scratch's first panel.
                if nc % nr != 0 {
                    packB(transB: false, b: p.bAt(pc, jc + nc / nr * nr), ldb: p.ldb, kc: kc, nc: nc % nr, into: packedB)
                }
            } else if let shared {
                blockB = UnsafeMutablePointer(mutating: shared + GEMMPackSharing.blockOffset(k: p.k, n: p.n, jc: jc, pc: pc))
            } else {
                packB(transB: p.transB, b: p.bAt(pc, jc), ldb: p.ldb, kc: kc, nc: nc, into: packedB,
                      roundToBFloat16: p.roundToBFloat16)
                blockB = packedB
            }
            // LOOP 3: split m into mc-tall blocks (packed A block in L2).
            var ic = 0
            while ic < p.m {
                let mc = min(gemmMC, p.m - ic)
                let blockA: UnsafeMutablePointer<Float>
                switch aPack {
                case .none:
                    packA(transA: p.transA, a: p.aAt(ic, pc), lda: p.lda, mc: mc, kc: kc, into: packedA,
                          roundToBFloat16: p.roundToBFloat16)
                    blockA = packedA
                case .keep, .reuse:
                    blockA = scratch.aMemo() + GEMMProblem.packedAOffset(m: p.m, k: p.k, pc: pc, ic: ic, kc: kc)
                    // The memo holds all of op(A): pack it on the first column block only.
                    if aPack == .keep && jc == 0 {
                        packA(transA: p.transA, a: p.aAt(ic, pc), lda: p.lda, mc: mc, kc: kc, into: blockA,
                              roundToBFloat16: p.roundToBFloat16)
                    }
                }
                // LOOP 2: NR-wide micro-panels of B (one stays in L1 through loop 1).
                var jr = 0
                while jr < nc {
                    let cols = min(nr, nc - jr)
                    var ep = GEMMEpilogue(alpha: p.alpha, beta: first ? p.beta : 1, bias: nil, relu: last && p.relu)
                    if last, let bias = p.bias {
                        if cols == nr {
                            ep.bias = bias + jc + jr
                        } else {
                            for q in 0..<nr { edgeBias[q] = q < cols ? bias[jc + jr + q] : 0 }
                            ep.bias = UnsafePointer(edgeBias)
                        }
                    }
                    // Panel jr/NR of the block: packed (rows NR apart), or in place (rows ldb apart).
                    let (pb, ldb) = !inPlace ? (UnsafePointer(blockB + jr * kc), nr)
                        : cols == nr ? (UnsafePointer(blockB + jr), p.ldb) : (UnsafePointer(packedB), nr)
                    // LOOP 1: MR-tall micro-panels of A, one micro-kernel call each.
                    var ir = 0
                    while ir < mc {
                        let rows = min(mr, mc - ir)
                        let pa = UnsafePointer(blockA + ir * kc)
                        let cTile = p.c + (ic + ir) * p.ldc + jc + jr
                        if cols == nr {
                            if rows <= gemmEdgeMR {
                                sgemmMicroKernelEdge(kc: kc, pa: pa, pb: pb, ldb: ldb, c: cTile, ldc: p.ldc, rows: rows, ep: ep)
                            } else {
                                sgemmMicroKernel(kc: kc, pa: pa, pb: pb, ldb: ldb, c: cTile, ldc: p.ldc, rows: rows, ep: ep)
                            }
                        } else {
                            // Right-edge tile: run the full kernel on a private tile (the packed
                            // operands are zero-padded) and copy back only the valid part.
                            if ep.beta != 0 {
                                for r in 0..<rows { for q in 0..<cols { tile[r * nr + q] = cTile[r * p.ldc + q] } }
                            }
                            if rows <= gemmEdgeMR {
                                sgemmMicroKernelEdge(kc: kc, pa: pa, pb: pb, ldb: ldb, c: tile, ldc: nr, rows: rows, ep: ep)
                            } else {
                                sgemmMicroKernel(kc: kc, pa: pa, pb: pb, ldb: ldb, c: tile, ldc: nr, ep: ep)
                            }
                            for r in 0..<rows { for q in 0..<cols { cTile[r * p.ldc + q] = tile[r * nr + q] } }
                        }
                        ir += mr
                    }
                    jr += nr
                }
                ic += mc
            }
            pc += kc
        }
        jc += nc
    }
}
