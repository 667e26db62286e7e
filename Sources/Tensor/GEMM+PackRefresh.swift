import Synchronization

// Rewriting kept weight packs from the optimizer's pass.
//
// A shared pack (GEMM+SharedPacks.swift) is op(B) of a weight cut into the blocked GEMM's panels.
// Packing it at a step's start reads every weight from L3 or memory; the optimizer's pass a moment
// earlier had each chunk of weights in L1 or L2 as it wrote them. So the pass, after updating a
// chunk, writes the new values into every kept pack too (`refresh`), and the next step packs
// nothing. Element (p, j) of op(B) goes where the GEMM's packing puts it: block (jc, pc), panel
// (j - jc) / NR, slot (p - pc) · NR + (j - jc) % NR, so a refreshed pack is the same bits as a
// fresh one.
//
// The unit of work is a group of `packGroupLines` rows of the weight as it lies in the buffer
// (an "item"). A forward product (`X · W`) takes W's rows as runs of NR floats; a backward one
// (`dZ · Wᵀ`) transposes them, a group through registers at once (16 stores of 16 floats where
// element by element would be 256 scattered stores). An item is refreshed by the chunk that
// holds its last element, reading its earlier elements from the same thread's earlier chunks
// (each thread runs its chunks in order, `OptimizerChunks`); the few items that start in another
// thread's run are refreshed after the pass (`refreshAcross`).

/// Where one kept pack's op(B) lies in the buffer and how it is packed.
struct KeptPackLayout {
    /// op(B)[p, j] is buffer[start + p·ldb + j], or buffer[start + j·ldb + p] with `transB`.
    let start: Int, ldb: Int, transB: Bool, k: Int, n: Int
    let pack: UnsafeMutablePointer<Float>

    /// Rows of the buffer that hold op(B) (`rowCount` of them, `rowWidth` elements used each).
    var rowCount: Int { transB ? n : k }
    var rowWidth: Int { transB ? k : n }
    /// One past op(B)'s last element in the buffer.
    var end: Int { start + (rowCount - 1) * ldb + rowWidth }
    /// Groups of `packGroupLines` rows (the last may be shorter).
    var items: Int { (rowCount + packGroupLines - 1) / packGroupLines }
    /// Item i's first element, and its last one.
    func first(_ i: Int) -> Int { start + i * packGroupLines * ldb }
    func last(_ i: Int) -> Int { start + (min(rowCount, (i + 1) * packGroupLines) - 1) * ldb + rowWidth - 1 }
}

/// The kept packs of one buffer, rewritten by a pass that writes every element of the buffer once
/// (an optimizer's, cut by `OptimizerChunks`): after writing elements `lo ..< lo + count` the pass
/// calls `refresh(lo, count, runStart:)`, and once every chunk is done, `refreshAcross`. Get one
/// from `GEMMPackSharing.refresh(of:)` and hand it back with `finish`.
public final class WeightPackRefresh: @unchecked Sendable {
    let base: UnsafePointer<Float>
    /// The buffer's size in elements.
    let count: Int
    let packs: [KeptPackLayout]
    private let totalItems: Int
    private let covered = Atomic<Int>(0), itemsDone = Atomic<Int>(0)

    init(base: UnsafePointer<Float>, count: Int, packs: [KeptPackLayout]) {
        self.base = base
        self.count = count
        self.packs = packs
        totalItems = packs.reduce(0) { $0 + $1.items }
    }

    /// Whether the pass wrote as many elements as the buffer has and every item was refreshed.
    var isComplete: Bool {
        covered.load(ordering: .acquiring) == count && itemsDone.load(ordering: .acquiring) == totalItems
    }

    /// After the pass wrote elements `lo ..< lo + count`, on the thread whose run of chunks began
    /// at `runStart` (it wrote `runStart ..< lo` before): refreshes every item whose last element
    /// is in the chunk and whose first is in the run.
    func refresh(_ lo: Int, _ count: Int, runStart: Int) {
        let hi = lo + count
        var done = 0
        for l in packs where l.start < hi && l.end > lo {
            var i = max(0, (lo - l.start) / (packGroupLines * l.ldb) - 1)
            while i < l.items, l.last(i) < lo { i += 1 }
            while i < l.items, l.last(i) < hi {
                if l.first(i) >= runStart { refresh(l, item: i); done += 1 }
                i += 1
            }
        }
        covered.wrappingAdd(count, ordering: .relaxed)
        itemsDone.wrappingAdd(done, ordering: .relaxed)
    }

    /// After the whole pass: the items that start before one of `runStarts` (a later run's first
    /// element) and end at or after it, each once.
    func refreshAcross(_ runStarts: [Int]) {
        var done = 0
        for l in packs {
            var last = -1
            for s in runStarts where s > l.start && s < l.end {
                let i = (s - l.start) / (packGroupLines * l.ldb)
                if i != last, l.first(i) < s, l.last(i) >= s { refresh(l, item: i); done += 1 }
                last = i
            }
        }
        itemsDone.wrappingAdd(done, ordering: .releasing)
    }

    /// Writes item `i` (rows iG ..< (i+1)G of `l`'s op(B) as it lies in the buffer) into its pack.
    private func refresh(_ l: KeptPackLayout, item i: Int) {
        let kcBlock = gemmKC(l.k), nr = gemmNR
        /// Where op(B)[p, j] goes in the pack.
        @inline(__always) func slot(_ p: Int, _ j: Int) -> Int {
            let jc = j / gemmNC * gemmNC, pc = p / kcBlock * kcBlock, kc = min(kcBlock, l.k - pc)
            return GEMMPackSharing.blockOffset(k: l.k, n: l.n, jc: jc, pc: pc) + (j - jc) / nr * kc * nr + (p - pc) * nr + (j - jc) % nr
        }
        let r0 = i * packGroupLines, r1 = min(l.rowCount, r0 + packGroupLines)
        let src = base + l.start
        if !l.transB {
            // Row r of W is op(B)[r, ...]: runs of NR floats, each a panel's row.
            for r in r0..<r1 {
                let row = src + r * l.ldb
                var j = 0
                while j < l.n {
                    let run = min(l.n, (j / nr + 1) * nr) - j
                    let d = l.pack + slot(r, j)
                    if run == nr {
                        var q = 0
                        while q < nr { store16(load16(row + j + q), d + q); q += 16 }
                    } else {
                        for q in 0..<run { d[q] = row[j + q] }
                    }
                    j += run
                }
            }
            return
        }
        // Row r of the buffer is op(B)[..., r]: slot r of every step's panel row.
        if r1 - r0 == packGroupLines {
            var pc = 0
            while pc < l.k {
                let kc = min(kcBlock, l.k - pc)
                packTransposedGroup(src + r0 * l.ldb + pc, ld: l.ldb, kc: kc, width: nr, PackCopy.self, into: l.pack + slot(pc, r0))
                pc += kc
            }
            return
        }
        for r in r0..<r1 {
            let row = src + r * l.ldb
            var pc = 0
            while pc < l.k {
                let kc = min(kcBlock, l.k - pc), d = l.pack + slot(pc, r)
                for q in 0..<kc { d[q * nr] = row[pc + q] }
                pc += kc
            }
        }
    }
}
