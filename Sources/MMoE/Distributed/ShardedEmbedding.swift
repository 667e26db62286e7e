import Tensor

/// An embedding store sharded by key across the ranks of a distributed job
/// (`--embedding_sharding key`, OneEmbedding's design): rank r's `store` holds only the keys
/// `KeyShard.owner` gives it, with their optimizer state, admission counts and statistics.
///
/// A training step, on every rank (all collective):
/// 1. `pull`: each rank deduplicates the keys its rows of the batch look up (in order of first
///    lookup), counts them, and sends each owner its keys with their counts (all-to-all-v). An
///    owner merges what it receives in rank order: since the ranks' rows are contiguous blocks in
///    rank order, that is the order of first lookup in the whole batch, and the summed counts are
///    the whole batch's, so admission, creation and the row bookkeeping see what one process's
///    store sees. Owners resolve the keys in their store (read, admit, create: `resolve`) and send
///    the values back (all-to-all-v); each rank builds its working table of the rows it reads.
/// 2. Forward and backward of the rank's shards write gradients into that table; the gradient
///    exchange (`Trainer.exchangeShardGradients`) sends each shard's gradient rows to their
///    owners, who add them in shard order, the order one process adds its shards' tables in.
/// 3. `update`: after the dense step, each owner applies the sparse update to its rows, writes them
///    back and evicts, as one process's store does.
///
/// A batch too small to cut into shards is computed whole on every rank: each rank then asks for
/// every key (only rank 0's counts count), and each owner takes its rows' gradients from its own
/// computation (`absorbLocalGradients`), with no exchange.
public final class ShardedEmbedding {
    /// This rank's shard of the table.
    public let store: EmbeddingStore
    public let shard: KeyShard
    let communicator: any Communicator

    public init(store: EmbeddingStore, communicator: any Communicator) {
        precondition(store.settings.keyShard == KeyShard(rank: communicator.rank, count: communicator.size),
                     "ShardedEmbedding: the store was built for \(String(describing: store.settings.keyShard)), the job is rank \(communicator.rank) of \(communicator.size)")
        self.store = store
        self.communicator = communicator
        shard = KeyShard(rank: communicator.rank, count: communicator.size)
    }

    /// One step's (or one evaluation chunk's) rows on this rank: those it reads, and those it owns.
    public final class Step {
        /// The rows this rank's lookups read, in its order of first lookup, then the zero row when
        /// some key has no row: what its shards' forward reads and backward writes into.
        public let table: EmbeddingTable
        /// The batch with the lookups of `rows` renumbered into `table`; the other rows' lookups
        /// point at row 0 and are never read.
        public let batch: Batch
        /// The rows of the batch this rank computes.
        public let rows: Range<Int>
        /// Per row of `table` but the zero row: its owner and the key's place in what this rank
        /// asked that owner for.
        let route: [(owner: Int, index: Int)]
        /// The rows of the keys this rank owns, every rank's requests merged (nil in evaluation).
        let owned: WorkingRows?
        /// Per asking rank, for each key it asked for, its row in `owned`.
        let ownedRow: [[Int32]]
        /// Whether any lookup of the whole batch read a stored row (AdamAsync advances its powers then).
        let anyRowTouched: Bool
        /// Set by the gradient exchange: the owners have their rows' gradients.
        var gradientsExchanged = false

        init(table: EmbeddingTable, batch: Batch, rows: Range<Int>, route: [(owner: Int, index: Int)], owned: WorkingRows?,
             ownedRow: [[Int32]], anyRowTouched: Bool) {
            self.table = table
            self.batch = batch
            self.rows = rows
            self.route = route
            self.owned = owned
            self.ownedRow = ownedRow
            self.anyRowTouched = anyRowTouched
        }
    }

    /// Collective: the rows the lookups of `batch.rows(rows)` read, from their owners. In training
    /// (`training`), keys are counted (`counting`: this rank's counts count; false when several
    /// ranks ask for the same rows) and admitted ones get rows at their owners.
    public func pull(_ batch: Batch, rows: Range<Int>, counting: Bool, training: Bool) throws -> Step {
        let n = communicator.size, c = communicator
        let part = batch.rows(rows)
        let asked = try store.lookupKeys([part])
        // 1. Keys (two Floats of bits each) then counts, to each owner.
        var perOwner = [[Int]](repeating: [], count: n), place = [Int](repeating: 0, count: asked.candidates.count)
        for (i, key) in asked.candidates.enumerated() {
            let q = shard.owner(key)
            place[i] = perOwner[q].count
            perOwner[q].append(i)
        }
        let requests = (0..<n).map { q -> [Float] in
            var m = [Float](); m.reserveCapacity(perOwner[q].count * 3)
            for i in perOwner[q] {
                let key = asked.candidates[i]
                m.append(Float(bitPattern: UInt32(truncatingIfNeeded: key)))
                m.append(Float(bitPattern: UInt32(truncatingIfNeeded: key >> 32)))
            }
            for i in perOwner[q] { m.append(Float(bitPattern: UInt32(counting ? asked.counts[i] : 0))) }
            return m
        }
        let received = c.allToAll(requests)

        // 2. As owner: the keys asked for, merged in rank order, resolved in the store.
        var slotOf: [UInt64: Int] = [:], keys: [UInt64] = [], counts: [Int] = []
        var mergedIndex: [[Int]] = []
        for q in 0..<n {
            let m = received[q], k = m.count / 3
            var index = [Int](); index.reserveCapacity(k)
            for j in 0..<k {
                let key = UInt64(m[2 * j].bitPattern) | UInt64(m[2 * j + 1].bitPattern) << 32
                let count = Int(m[2 * k + j].bitPattern)
                if let s = slotOf[key] {
                    counts[s] += count
                    index.append(s)
                } else {
                    slotOf[key] = keys.count
                    index.append(keys.count)
                    keys.append(key)
                    counts.append(count)
                }
            }
            mergedIndex.append(index)
        }
        let resolved = try store.resolve(keys, counts: counts, firstIds: [], training: training)
        let ownedRow = mergedIndex.map { $0.map { resolved.rowOf[$0] } }
        let d = store.layout.dim, w = store.layout.width
        let anyHere = !resolved.keys.isEmpty
        // 3. Back to each asker: whether this owner holds any row of the step, then per key asked
        //    whether it has a row, then the values of those that do.
        let replies = (0..<n).map { q -> [Float] in
            var m: [Float] = [anyHere ? 1 : 0]
            m.reserveCapacity(1 + ownedRow[q].count * (d + 1))
            for r in ownedRow[q] { m.append(Int(r) == resolved.zeroRow ? 0 : 1) }
            for r in ownedRow[q] where Int(r) != resolved.zeroRow {
                m += resolved.records[(Int(r) * w)..<(Int(r) * w + d)]
            }
            return m
        }
        let answers = c.allToAll(replies)

        // 4. This rank's working table, in its order of first lookup.
        var valueAt = [Int](repeating: 0, count: n)   // next value offset in each owner's answer
        for q in 0..<n { valueAt[q] = 1 + perOwner[q].count }
        var values: [Float] = [], route: [(owner: Int, index: Int)] = []
        values.reserveCapacity(asked.candidates.count * d)
        var rowOf = [Int32](repeating: -1, count: asked.candidates.count)
        for i in asked.candidates.indices {
            let q = shard.owner(asked.candidates[i]), a = answers[q]
            guard a[1 + place[i]] != 0 else { continue }
            values += a[valueAt[q]..<(valueAt[q] + d)]
            valueAt[q] += d
            rowOf[i] = Int32(route.count)
            route.append((q, place[i]))
        }
        if rowOf.contains(-1) {
            let zero = Int32(route.count)
            values += [Float](repeating: 0, count: d)
            for i in rowOf.indices where rowOf[i] < 0 { rowOf[i] = zero }
        }
        let table = EmbeddingTable(name: "embedding", value: Tensor(shape: [values.count / max(d, 1), d], scalars: values))
        let anyRowTouched = answers.contains { !$0.isEmpty && $0[0] != 0 }
        return Step(table: table, batch: renumbered(batch, rows: rows, asked, rowOf), rows: rows, route: route,
                    owned: training ? resolved.working(batches: []) : nil, ownedRow: ownedRow, anyRowTouched: anyRowTouched)
    }

    /// `batch` with the lookups of `rows` pointing at their rows of the working table.
    private func renumbered(_ batch: Batch, rows: Range<Int>, _ asked: LookupKeys, _ rowOf: [Int32]) -> Batch {
        let f = batch.fieldCount
        let first = batch.bagOffsets.map { Int($0[rows.lowerBound * f]) } ?? rows.lowerBound * f
        var ids = [Int32](repeating: 0, count: batch.ids.count)
        for (k, s) in asked.lookups[0].enumerated() { ids[first + k] = rowOf[Int(s)] }
        var paired: [Int32]?
        if store.kind == .multihash {
            var p = [Int32](repeating: 0, count: batch.ids.count)
            for (k, s) in asked.pairedLookups[0].enumerated() { p[first + k] = rowOf[Int(s)] }
            paired = p
        }
        return Batch(size: batch.size, dense: batch.dense, ids: ids, bagOffsets: batch.bagOffsets, labels: batch.labels, pairedIds: paired)
    }

    /// The gradient rows of `table` (one shard's view of `step.table`) that owner `q` holds:
    /// `[count, each row's place in what this rank asked q for..., their values...]`.
    func gradientPayload(for q: Int, of table: EmbeddingTable, _ step: Step) -> [Float] {
        let d = table.dim, touched = table.touchedRows, grads = table.gradValues
        var places: [Float] = [], values: [Float] = []
        for (k, r) in touched.enumerated() where Int(r) < step.route.count && step.route[Int(r)].owner == q {
            places.append(Float(bitPattern: UInt32(step.route[Int(r)].index)))
            values += grads[(k * d)..<((k + 1) * d)]
        }
        return [Float(places.count)] + places + values
    }

    /// Adds one shard's gradient rows that rank `q` sent (a `gradientPayload`, starting at
    /// `payload[at]`) to this rank's owned rows; returns the index just past it.
    func receiveGradients(from q: Int, _ payload: ArraySlice<Float>, at start: Int, _ step: Step) -> Int {
        guard let owned = step.owned else { preconditionFailure("ShardedEmbedding: gradients for rows pulled for evaluation") }
        let d = store.layout.dim
        var k = start
        let count = Int(payload[k]); k += 1
        let rows = payload[k..<(k + count)].map { step.ownedRow[q][Int($0.bitPattern)] }; k += count
        owned.table.addGradient(rows: rows, values: payload[k..<(k + count * d)])
        return k + count * d
    }

    /// After a step computed whole on every rank (no exchange): this rank's rows' gradients, from
    /// its own computation.
    func absorbLocalGradients(_ step: Step) {
        let payload = gradientPayload(for: shard.rank, of: step.table, step)
        _ = receiveGradients(from: shard.rank, payload[...], at: 0, step)
    }

    /// The sparse half of the step on this rank's rows (after the dense update, as
    /// `EmbeddingStore.update`).
    public func update(_ step: Step, optimizer: any Optimizer) throws {
        guard let owned = step.owned else { preconditionFailure("ShardedEmbedding.update: these rows were pulled for evaluation") }
        if !step.gradientsExchanged { absorbLocalGradients(step) }
        try store.update(owned, optimizer: optimizer, anyRowTouched: step.anyRowTouched)
    }

    /// Collective: the statistics of every rank's shard, summed (rows, hits, misses, admissions,
    /// evictions, zero lookups, tracked keys, resident bytes).
    public func statistics() -> EmbeddingStoreStatistics {
        let s = store.statistics
        let mine = [s.rows, s.hits, s.misses, s.admissions, s.evictions, s.zeroLookups, s.trackedKeys, s.residentBytes]
        let all = communicator.allGather(mine.flatMap { v in [UInt32(truncatingIfNeeded: v), UInt32(truncatingIfNeeded: v >> 32)].map { Float(bitPattern: $0) } })
        var sum = [Int](repeating: 0, count: mine.count)
        for part in all {
            for i in sum.indices { sum[i] += Int(part[2 * i].bitPattern) | Int(part[2 * i + 1].bitPattern) << 32 }
        }
        return EmbeddingStoreStatistics(rows: sum[0], hits: sum[1], misses: sum[2], admissions: sum[3], evictions: sum[4], zeroLookups: sum[5],
                                        trackedKeys: sum[6], residentBytes: sum[7])
    }
}
