import Foundation

/// The files of a save of a table sharded by key across N ranks: each rank writes its own shard,
/// `embedding_store.shard-<r>-of-<N>.rows` (a `RowSnapshot` of its storage with its store's
/// `checkpointState()`: admission counts, counters, AdamAsync's powers), and the model file's
/// metadata names how many shards there are and each one's checksum (the CRC-32C the snapshot
/// ends with), so a load reads exactly the files the save completed with, never a leftover of an
/// interrupted save of the same step. Loading streams the files: a rank of a run with the same N
/// reads its own file; any other layout (another N, one process, replicated ranks) reads every
/// file and keeps the keys it owns, with the counters summed onto rank 0 (or onto every replica),
/// so the ranks' counters add up to the saved ones.
public enum ShardFiles {
    /// Metadata keys of a model file whose rows are shard files (`EmbeddingPersistence.rowsKey` is
    /// `shards`): the rank count, and per shard its checksum and record count.
    public static let countKey = "embedding_store.shards"
    public static let checksumsKey = "embedding_store.shard_checksums"
    public static let rowsKey = "embedding_store.shard_rows"

    /// The file rank `rank` of `count` writes its shard to.
    public static func name(rank: Int, of count: Int) -> String { "embedding_store.shard-\(rank)-of-\(count).rows" }

    /// What one rank's shard write gave: the file's checksum and records, or why it failed.
    public struct Written: Equatable {
        public var checksum: UInt32 = 0
        public var rows = 0
        public var failure: String?
    }

    /// Writes `store`'s shard as rank `rank` of `count` into `directory` (created if missing),
    /// atomically and fsynced (`RowSnapshot.save`). Never throws: a failure is returned, for the
    /// ranks to learn about it together.
    public static func write(_ store: EmbeddingStore, rank: Int, of count: Int, in directory: String) -> Written {
        let path = (directory as NSString).appendingPathComponent(name(rank: rank, of: count))
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try RowSnapshot.save(store.storage, arrays: store.checkpointState(), to: path)
            return Written(checksum: try RowSnapshot.checksum(at: path), rows: store.storage.count)
        } catch {
            return Written(failure: "\(error)")
        }
    }

    /// The metadata naming the shards `written` (by rank).
    public static func metadata(_ written: [Written]) -> [String: String] {
        [EmbeddingPersistence.rowsKey: "shards", countKey: "\(written.count)",
         checksumsKey: written.map { String($0.checksum, radix: 16) }.joined(separator: ","),
         rowsKey: written.map { "\($0.rows)" }.joined(separator: ",")]
    }

    /// The shard count and checksums `metadata` names (read from `file`).
    static func parse(_ metadata: [String: String], file: String) throws(EmbeddingStoreError) -> (count: Int, checksums: [UInt32]) {
        guard let count = metadata[countKey].flatMap(Int.init), count >= 1,
              let sums = metadata[checksumsKey]?.split(separator: ",").map({ UInt32($0, radix: 16) }), sums.count == count,
              sums.allSatisfy({ $0 != nil }) else {
            throw EmbeddingStoreError("\(file): the metadata says the embedding rows are in shard files, but its \(countKey) and \(checksumsKey) "
                                      + "are missing or disagree (\(metadata[countKey] ?? "none"); \(metadata[checksumsKey] ?? "none"))")
        }
        return (count, sums.map { $0! })
    }

    /// Checks that `directory` holds shard `rank` of `count` with the checksum the save recorded;
    /// returns its path.
    static func verified(_ directory: String, rank: Int, of count: Int, checksum: UInt32) throws -> String {
        let path = (directory as NSString).appendingPathComponent(name(rank: rank, of: count))
        guard FileManager.default.fileExists(atPath: path) else {
            throw EmbeddingStoreError("\(directory): its model file says rank \(rank) of \(count) saved its embedding rows in \(name(rank: rank, of: count)), which is missing")
        }
        let found = try RowSnapshot.checksum(at: path)
        guard found == checksum else {
            throw EmbeddingStoreError("\(path): checksum \(String(found, radix: 16)), but the save completed with \(String(checksum, radix: 16)): "
                                      + "not the file this checkpoint was written with")
        }
        return path
    }

    /// Loads the shard files of the save in `directory` (`count` of them, `checksums` by rank) into
    /// `store`, whose storage must be empty: as rank `shard` of a table sharded by key (its own file
    /// when the rank count is the saved one, else the keys it owns from every file), or the whole
    /// table (`shard` nil: one process, or a replica). Restores the store's state. A counting Bloom
    /// filter cannot be split or merged over another rank count: that is refused when the store has
    /// a filter (a store without one, for prediction, takes the rows alone).
    public static func load(into store: EmbeddingStore, from directory: String, count: Int, checksums: [UInt32], shard: KeyShard?) throws {
        if store.storage.count > 0 {
            throw EmbeddingStoreError("\(directory): its sharded embedding rows cannot be loaded: the store already holds \(store.storage.count) rows; "
                                      + "give an empty --persistent_path to load these rows into")
        }
        if let shard, shard.count == count {
            let path = try verified(directory, rank: shard.rank, of: count, checksum: checksums[shard.rank])
            try store.restoreCheckpointState(try RowSnapshot.load(into: store.storage, from: path))
            return
        }
        let keep: ((UInt64) -> Bool)? = shard.map { s in { s.owns($0) } }
        var state: [String: [UInt64]] = [:], counted: [(UInt64, UInt64)] = [], counters: [UInt64] = [0, 0, 0]
        for r in 0..<count {
            let path = try verified(directory, rank: r, of: count, checksum: checksums[r])
            let arrays = try RowSnapshot.load(into: store.storage, from: path, keeping: keep, merging: true)
            if arrays["cbf.counters"] != nil && store.filter != nil {
                throw EmbeddingStoreError("\(directory): saved by \(count) ranks with --ev_filter cbf, each rank with its own counting Bloom filter, "
                                          + "which cannot be split or merged for \(shard.map { "\($0.count) ranks sharded by key" } ?? "one whole table"); "
                                          + "resume it with mpirun -np \(count) and --embedding_sharding key, or start a new --checkpoint directory")
            }
            if r == 0 { state = arrays }
            if let keys = arrays["counter.keys"], let values = arrays["counter.counts"], keys.count == values.count {
                counted += zip(keys, values).filter { keep?($0.0) ?? true }
            }
            for (j, c) in (arrays["store.counters"] ?? []).prefix(3).enumerated() { counters[j] &+= c }
        }
        if state["counter.keys"] != nil {
            counted.sort { $0.0 < $1.0 }
            state["counter.keys"] = counted.map(\.0)
            state["counter.counts"] = counted.map(\.1)
        }
        state["store.counters"] = (shard?.rank ?? 0) == 0 ? counters : [0, 0, 0]
        try store.restoreCheckpointState(state)
    }
}
