import Foundation

/// Saving and loading a table sharded by key. A save merges the shards: every rank sends its rows
/// (sorted by key), its admission counts and its counters to rank 0, which writes one whole-table
/// snapshot (`embedding_store.rows`) inside the checkpoint or model save it writes alone, through
/// the same atomic save as one process. So a sharded save is complete exactly when that save is
/// (all or nothing), `mmoe-predict` and a one-process or replicated run read it as any other, and
/// a sharded run resumes from it with any number of ranks: each rank loads the snapshot and keeps
/// the keys it owns under the new rank count (re-hashing). The price: rank 0 holds the whole table
/// in memory while it saves.
extension ShardedEmbedding {
    /// Collective: every rank's rows and store state merged, on rank 0 (nil on the others): a
    /// storage holding the whole table (rows in key order) and the arrays one store would save.
    public func merged() throws -> (storage: MemoryRowStorage, arrays: [String: [UInt64]])? {
        if store.filter is CountingBloomFilter {
            throw EmbeddingStoreError("--ev_filter cbf: the ranks' counting Bloom filters cannot be merged into one exactly, so a table sharded by key "
                                      + "with it cannot be saved yet; use --ev_filter counter or --embedding_sharding replicated")
        }
        let w = store.layout.width
        var keys: [UInt64] = [], records: [Float] = []
        try store.storage.scan(chunk: 4096) { k, r in
            keys += k
            records += r
        }
        let order = keys.indices.sorted { keys[$0] < keys[$1] }
        var message: [Float] = []
        message.reserveCapacity(4 + keys.count * (2 + w))
        func put(_ value: UInt64) {
            message.append(Float(bitPattern: UInt32(truncatingIfNeeded: value)))
            message.append(Float(bitPattern: UInt32(truncatingIfNeeded: value >> 32)))
        }
        let state = store.checkpointState()
        put(UInt64(keys.count))
        for i in order { put(keys[i]) }
        for i in order { message += records[(i * w)..<((i + 1) * w)] }
        let counted = state["counter.keys"] ?? [], counts = state["counter.counts"] ?? []
        put(UInt64(counted.count))
        for k in counted { put(k) }
        for c in counts { put(c) }
        for c in state["store.counters"] ?? [0, 0, 0] { put(c) }
        let c = communicator
        let received = c.allToAll((0..<c.size).map { $0 == 0 ? message : [] })
        guard c.rank == 0 else { return nil }

        let merged = MemoryRowStorage(width: w)
        var arrays = state
        var counter: [(UInt64, UInt64)] = [], sums: [UInt64] = [0, 0, 0]
        for part in received {
            var at = 0
            func get() -> UInt64 {
                defer { at += 2 }
                return UInt64(part[at].bitPattern) | UInt64(part[at + 1].bitPattern) << 32
            }
            let n = Int(get())
            let partKeys = (0..<n).map { _ in get() }
            try merged.write(partKeys, Array(part[at..<(at + n * w)]))
            at += n * w
            let m = Int(get())
            let ks = (0..<m).map { _ in get() }, vs = (0..<m).map { _ in get() }
            counter += zip(ks, vs)
            for j in 0..<3 { sums[j] += get() }
        }
        if arrays["counter.keys"] != nil {
            counter.sort { $0.0 < $1.0 }
            arrays["counter.keys"] = counter.map(\.0)
            arrays["counter.counts"] = counter.map(\.1)
        }
        arrays["store.counters"] = sums
        return (merged, arrays)
    }
}

extension EmbeddingPersistence {
    /// `restoreSnapshot` into this rank's shard of a table sharded by key: the whole table is
    /// loaded, then the rows and admission counts of keys other ranks own are dropped; the counters
    /// (admissions, evictions, zero lookups) stay with rank 0, so that their sum over the ranks is
    /// the saved one.
    public func restoreSnapshot(from directory: String, shard: KeyShard) throws {
        try restoreSnapshot(from: directory)
        var others: [UInt64] = []
        try store.storage.scan(chunk: 4096) { keys, _ in others += keys.filter { !shard.owns($0) } }
        try store.storage.remove(others)
        var state = store.checkpointState()
        if let keys = state["counter.keys"], let counts = state["counter.counts"] {
            let kept = keys.indices.filter { shard.owns(keys[$0]) }
            state["counter.keys"] = kept.map { keys[$0] }
            state["counter.counts"] = kept.map { counts[$0] }
        }
        if shard.rank != 0 { state["store.counters"] = [0, 0, 0] }
        try store.restoreCheckpointState(state)
    }
}
