import Foundation
import Synchronization

// Shared B packs: the weights' panels packed once per training step, not once per shard.
//
// A training step cuts its batch into row shards that run concurrently, and every shard multiplies
// by the same weights: forward `X · W` and backward `dZ · Wᵀ` both have the weight as op(B). The
// blocked GEMM packs op(B) before it multiplies, so each shard used to pack every weight again (and
// a GEMM split over threads by rows packed it once per part). Inside `GEMMPackSharing.sharing`,
// a GEMM whose B lies in the declared read-only buffer takes its packed panels from a per-scope
// cache instead: the first GEMM to need a weight's pack creates the entry, and every GEMM that
// needs it (another shard, another part) packs the units not yet claimed, then waits until all are
// done. Packing only moves values, so a shared pack is the same bits as a private one, and the
// result never depends on which thread packed what.
//
// The packs are kept from one scope to the next, and the optimizer's pass can rewrite them as it
// writes the weights (`WeightPackRefresh`, GEMM+PackRefresh.swift): then the next scope takes
// them as they are and packs nothing. Packing at the step's start read every weight back from L3
// or memory, where the optimizer had just written it; on a 2-core Zen 4 that was ~0.8 ms of a
// 15 ms Taobao step at batch 256 on one thread (the first shard's layers, against the second's).
// A shard's forward products (`X · W`, up to 512 rows) read W in place and pack nothing
// (`gemmReadsBInPlace`), so what is shared and kept is mostly the backward products' `Wᵀ`.

/// Columns of op(B) per unit of shared packing work (a multiple of NR): small enough that two
/// threads arriving together split a layer's weight, large enough to amortise the claim.
private let sharedPackUnitColumns = 2 * gemmNR

/// Declares a tensor read-only for the length of a closure, so that GEMMs whose B operand lies in it
/// (a model's weights during a training step) pack it once and share the packed panels.
/// Keep one per trainer: its memory is reused from one scope to the next.
public final class GEMMPackSharing: @unchecked Sendable {
    private let state = Mutex(PackScopeState())

    public init() {}

    deinit { state.withLock { $0.release() } }

    /// Runs `body` with `buffer` declared read-only: nothing may write to `buffer`'s elements until
    /// `body` returns. GEMMs from any thread whose B operand lies inside `buffer` share one pack
    /// per (operand, shape, transpose). Scopes of different objects may be active at once (on
    /// disjoint buffers); one object's scopes do not nest.
    /// `reusingRefreshedPacks`: when the last thing to write `buffer` was a complete
    /// `WeightPackRefresh` of this object (`finish`), the packs it rewrote are used as they are.
    /// The caller vouches for that: any other write to `buffer` since must be followed by
    /// `invalidate()`.
    public func sharing<R>(_ buffer: Tensor, reusingRefreshedPacks reuse: Bool = false, _ body: () throws -> R) rethrows -> R {
        let (lo, hi) = Self.range(of: buffer)
        state.withLock { $0.begin(lo: lo, hi: hi, reuse: reuse) }
        GEMMPackScopes.register(self)
        defer {
            GEMMPackScopes.unregister(self)
            state.withLock { $0.end() }
        }
        return try withExtendedLifetime(buffer) { try body() }
    }

    /// A refresh of the kept packs of `buffer` (the one the scopes declare) for a pass that is
    /// about to rewrite every element of it, chunk by chunk (see `WeightPackRefresh`); nil when
    /// there is no pack to keep. Call between scopes; then `finish` it after the pass.
    public func refresh(of buffer: Tensor) -> WeightPackRefresh? {
        let (lo, hi) = Self.range(of: buffer)
        let base = UnsafePointer(buffer.storage.base + buffer.offset)
        return state.withLock { s in
            precondition(!s.active, "GEMMPackSharing.refresh: a scope is active, and the buffer is read-only in it")
            s.refreshed = []
            s.pending = nil
            guard lo == s.lo, hi == s.hi else { return nil }
            let kept = s.entries.filter { $0.value.keepable }
            guard !kept.isEmpty else { return nil }
            let refresh = WeightPackRefresh(base: base, count: buffer.count, packs: kept.map { key, e in
                KeptPackLayout(start: Int(key.address - lo) / MemoryLayout<Float>.stride, ldb: key.ldb, transB: key.transB,
                               k: key.k, n: key.n, pack: e.buffer)
            })
            s.pending = (refresh, Array(kept.values))
            return refresh
        }
    }

    /// Ends `refresh`'s pass: when it rewrote every element of the buffer, the next scope with
    /// `reusingRefreshedPacks` takes the packs it refreshed without packing them.
    public func finish(_ refresh: WeightPackRefresh) {
        let complete = refresh.isComplete
        state.withLock { s in
            if complete, let pending = s.pending, pending.refresh === refresh { s.refreshed = pending.packs }
            s.pending = nil
        }
    }

    /// Forgets any refresh: the next scope packs every weight again. Call after writing the
    /// buffer other than through a `WeightPackRefresh`'s pass.
    public func invalidate() {
        state.withLock { s in
            s.refreshed = []
            s.pending = nil
        }
    }

    private static func range(of buffer: Tensor) -> (UInt, UInt) {
        let lo = UInt(bitPattern: buffer.storage.base + buffer.offset)
        return (lo, lo + UInt(max(buffer.count, 0) * MemoryLayout<Float>.stride))
    }

    /// The shared, fully packed op(B) of `p` when its B lies in this scope's buffer; nil otherwise.
    /// Packs the units no other thread has claimed, then waits for the rest.
    func packedB(_ p: GEMMProblem) -> UnsafePointer<Float>? {
        let address = UInt(bitPattern: p.b)
        let key = SharedPackKey(address: address, ldb: p.ldb, transB: p.transB, k: p.k, n: p.n, bf16: p.roundToBFloat16)
        let entry: SharedPack? = state.withLock { s in
            guard s.active, address >= s.lo, address < s.hi else { return nil }
            if let e = s.entries[key] {
                if e.lastScope != s.scope {
                    e.lastScope = s.scope
                    if !e.current { s.filled += 1 }
                }
                return e
            }
            // Kept across scopes, and refreshed by the optimizer, only if all of op(B) lies in the buffer.
            let last = address + UInt(((p.transB ? p.n : p.k) - 1) * p.ldb + (p.transB ? p.k : p.n)) * UInt(MemoryLayout<Float>.stride)
            let e = SharedPack(k: key.k, n: key.n, buffer: s.allocate(floats: key.k * ((key.n + gemmNR - 1) / gemmNR * gemmNR)),
                               keepable: !key.bf16 && last <= s.hi)
            e.lastScope = s.scope
            s.entries[key] = e
            s.filled += 1
            return e
        }
        guard let entry else { return nil }
        entry.fill(p)
        return UnsafePointer(entry.buffer)
    }

    /// How many packs the current (or the last) scope packed from B (rather than found current):
    /// tests check that sharing, and keeping, happened.
    public var packsFilled: Int { state.withLock { $0.filled } }

    /// Where block (jc, pc) of a shared pack starts: blocks are stored jc-major, each pc block of
    /// the jc block is `kc x roundUp(nc, NR)` floats, so block (jc, pc) starts at jc*k + pc*ncPadded.
    @inline(__always) static func blockOffset(k: Int, n: Int, jc: Int, pc: Int) -> Int {
        let nc = min(gemmNC, n - jc)
        return jc * k + pc * ((nc + gemmNR - 1) / gemmNR * gemmNR)
    }
}

/// Which GEMM operands a pack belongs to (B's address and everything that fixes its packing).
private struct SharedPackKey: Hashable {
    let address: UInt, ldb: Int, transB: Bool, k: Int, n: Int, bf16: Bool
}

/// One operand's packed op(B), all of its (jc, pc) blocks, filled cooperatively.
private final class SharedPack: @unchecked Sendable {
    let buffer: UnsafeMutablePointer<Float>
    /// Whether the pack is kept for later scopes and refreshed with the weights (not bf16, and all
    /// of op(B) in the buffer).
    let keepable: Bool
    /// The scope that last used it, and whether it holds the current values for this scope
    /// (filled in it, or refreshed before it); both under the sharing object's lock.
    var lastScope = 0
    var current: Bool { finished.load(ordering: .relaxed) == units.count }
    /// Units of packing work: (jc, pc, first column inside the jc block, columns).
    private let units: [(jc: Int, pc: Int, j0: Int, cols: Int)]
    private let claimed = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)

    /// An empty pack of a `k x n` op(B) in `buffer` (k * roundUp(n, NR) floats).
    init(k: Int, n: Int, buffer: UnsafeMutablePointer<Float>, keepable: Bool) {
        self.buffer = buffer
        self.keepable = keepable
        var units: [(jc: Int, pc: Int, j0: Int, cols: Int)] = []
        let kcBlock = gemmKC(k)
        var jc = 0
        while jc < n {
            let nc = min(gemmNC, n - jc)
            var pc = 0
            while pc < k {
                var j0 = 0
                while j0 < nc {
                    units.append((jc, pc, j0, min(sharedPackUnitColumns, nc - j0)))
                    j0 += sharedPackUnitColumns
                }
                pc += kcBlock
            }
            jc += nc
        }
        self.units = units
    }

    /// At a scope's start (no GEMM running): current, so nothing packs it; or to be packed again.
    func begin(current: Bool) {
        let done = current ? units.count : 0
        claimed.store(done, ordering: .relaxed)
        finished.store(done, ordering: .relaxed)
    }

    /// Packs unclaimed units until none is left, then waits for the ones other threads claimed.
    func fill(_ p: GEMMProblem) {
        let count = units.count
        if finished.load(ordering: .acquiring) == count { return }
        let kcBlock = gemmKC(p.k)
        while true {
            let u = claimed.wrappingAdd(1, ordering: .relaxed).oldValue
            if u >= count { break }
            let unit = units[u]
            let kc = min(kcBlock, p.k - unit.pc)
            // Panel j0/NR of block (jc, pc): panels are kc x NR floats each, in column order.
            let dst = buffer + GEMMPackSharing.blockOffset(k: p.k, n: p.n, jc: unit.jc, pc: unit.pc) + unit.j0 * kc
            packB(transB: p.transB, b: p.bAt(unit.pc, unit.jc + unit.j0), ldb: p.ldb, kc: kc, nc: unit.cols,
                  into: dst, roundToBFloat16: p.roundToBFloat16)
            finished.wrappingAdd(1, ordering: .releasing)
        }
        var spins = 0
        while finished.load(ordering: .acquiring) < count {
            // The other packer may have been descheduled (the machine may be shared): yield now and then.
            spins += 1
            if spins & 255 == 0 { sched_yield() }
        }
    }
}

/// The bookkeeping of one `GEMMPackSharing`: the active range, the packs (kept while the scopes
/// declare the same buffer), and the memory they live in.
private struct PackScopeState {
    var active = false
    var lo: UInt = 0, hi: UInt = 0
    var entries: [SharedPackKey: SharedPack] = [:]
    /// The current (or last) scope's number, and how many packs it packed from B.
    var scope = 0, filled = 0
    /// The refresh handed out and not yet finished, with the packs it rewrites.
    var pending: (refresh: WeightPackRefresh, packs: [SharedPack])?
    /// The packs a complete refresh rewrote; cleared by any scope's start, a new refresh or `invalidate`.
    var refreshed: [SharedPack] = []
    /// Chunks of 64-byte aligned memory, and the next free float of the current one.
    private var chunks: [(base: UnsafeMutablePointer<Float>, floats: Int)] = []
    private var chunk = 0, used = 0

    mutating func begin(lo: UInt, hi: UInt, reuse: Bool) {
        precondition(!active, "GEMMPackSharing: scopes of one object do not nest")
        if lo != self.lo || hi != self.hi {
            // Another buffer: its packs start afresh, in the same memory.
            entries.removeAll()
            chunk = 0; used = 0
            refreshed = []
        }
        for e in entries.values { e.begin(current: false) }
        if reuse { for e in refreshed { e.begin(current: true) } }
        refreshed = []
        pending = nil
        active = true
        self.lo = lo; self.hi = hi
        scope += 1
        filled = 0
    }

    mutating func end() {
        active = false
    }

    /// `floats` floats, 64-byte aligned, valid until the scope ends.
    mutating func allocate(floats: Int) -> UnsafeMutablePointer<Float> {
        let size = (floats + 15) & ~15
        while chunk < chunks.count {
            if used + size <= chunks[chunk].floats {
                defer { used += size }
                return chunks[chunk].base + used
            }
            chunk += 1; used = 0
        }
        let floatsInChunk = max(size, 1 << 20)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: floatsInChunk * 4, alignment: 64)
        chunks.append((raw.bindMemory(to: Float.self, capacity: floatsInChunk), floatsInChunk))
        chunk = chunks.count - 1
        used = size
        return chunks[chunk].base
    }

    func release() { for c in chunks { c.base.deallocate() } }
}

/// The active sharing scopes, looked up by every blocked GEMM (a short list: usually none or one).
enum GEMMPackScopes {
    private static let active = Mutex<[GEMMPackSharing]>([])
    /// How many scopes are active: read without the lock so a GEMM outside any scope pays one load.
    private static let count = Atomic<Int>(0)

    static func register(_ s: GEMMPackSharing) {
        active.withLock { list in list.append(s); count.store(list.count, ordering: .releasing) }
    }

    static func unregister(_ s: GEMMPackSharing) {
        active.withLock { list in
            list.removeAll { $0 === s }
            count.store(list.count, ordering: .releasing)
        }
    }

    /// The shared pack of `p`'s op(B), when some active scope holds its B operand.
    static func packedB(_ p: GEMMProblem) -> UnsafePointer<Float>? {
        if count.load(ordering: .acquiring) == 0 { return nil }
        let scopes = active.withLock { $0 }
        for s in scopes { if let packed = s.packedB(p) { return packed } }
        return nil
    }
}
