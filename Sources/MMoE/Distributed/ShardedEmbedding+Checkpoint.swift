import Foundation

/// Saving a table sharded by key: every rank writes its own shard file (`ShardFiles`) into the
/// save rank 0 is writing, and the ranks learn together whether all of them succeeded, so that
/// rank 0 completes the save (its model file, written last) only when every shard is on disk. No
/// rank holds more than its own shard. Loading: `ShardFiles.load`; an old save whose shards were
/// merged into one snapshot (`embedding_store.rows`) still loads, streamed
/// (`restoreSnapshot(from:shard:)`).
extension ShardedEmbedding {
    /// Collective: writes this rank's shard into `directory`, fsynced, and returns every rank's
    /// outcome, by rank (the same on every rank).
    public func writeShards(in directory: String) -> [ShardFiles.Written] {
        let mine = ShardFiles.write(store, rank: shard.rank, of: shard.count, in: directory)
        var message: [Float] = [mine.failure == nil ? 0 : 1, Float(bitPattern: mine.checksum),
                                Float(bitPattern: UInt32(truncatingIfNeeded: mine.rows)), Float(bitPattern: UInt32(truncatingIfNeeded: mine.rows >> 32))]
        message += RankText.encode(mine.failure ?? "")
        return communicator.allGather(message).map { m in
            var w = ShardFiles.Written(checksum: m[1].bitPattern, rows: Int(m[2].bitPattern) | Int(m[3].bitPattern) << 32)
            if m[0] != 0 { w.failure = RankText.decode(m[4...]) }
            return w
        }
    }
}

/// Text carried in a Float payload between ranks, one UTF-8 byte per value.
enum RankText {
    static func encode(_ text: String) -> [Float] { text.utf8.map { Float(bitPattern: UInt32($0)) } }
    static func decode(_ values: ArraySlice<Float>) -> String {
        String(decoding: values.map { UInt8(truncatingIfNeeded: $0.bitPattern) }, as: UTF8.self)
    }
}

extension Communicator {
    /// Collective: rank 0's `text` (nil or not), on every rank.
    public func rootText(_ text: String?) -> String? {
        let all = allGather(rank == 0 ? (text.map { [1] + RankText.encode($0) } ?? [0]) : [])
        return all[0].first == 1 ? RankText.decode(all[0].dropFirst()) : nil
    }
}

extension EmbeddingPersistence {
    /// `restoreSnapshot` into this rank's shard of a table sharded by key, from a save whose shards
    /// were merged into one snapshot (older saves, or one process's): the snapshot is streamed and
    /// only the rows of keys this rank owns are kept, with their admission counts; the counters
    /// (admissions, evictions, zero lookups) stay with rank 0, so that their sum over the ranks is
    /// the saved one.
    public func restoreSnapshot(from directory: String, shard: KeyShard) throws {
        let path = (directory as NSString).appendingPathComponent(Self.snapshotFile)
        guard FileManager.default.fileExists(atPath: path) else {
            throw EmbeddingStoreError("\(directory): its model file says the embedding rows are in \(Self.snapshotFile), which is missing")
        }
        if store.storage.count > 0 {
            throw EmbeddingStoreError("\(path): cannot be loaded: the store already holds \(store.storage.count) rows; "
                                      + "give an empty --persistent_path to load these rows into")
        }
        var state = try RowSnapshot.load(into: store.storage, from: path, keeping: { shard.owns($0) })
        if let keys = state["counter.keys"], let counts = state["counter.counts"] {
            let kept = keys.indices.filter { shard.owns(keys[$0]) }
            state["counter.keys"] = kept.map { keys[$0] }
            state["counter.counts"] = kept.map { counts[$0] }
        }
        if shard.rank != 0 { state["store.counters"] = [0, 0, 0] }
        try store.restoreCheckpointState(state)
    }
}
