import Foundation

/// An embedding store and the places its rows outlive the process: checkpoints and model saves,
/// and a persistent store (`DurableRowStorage`) when the run has one.
///
/// **Where a save's rows go.** Without a persistent store the rows live in RAM only, so every
/// checkpoint and model save holds all of them: `embedding_store.rows`, a `RowSnapshot` of the
/// storage with `store.checkpointState()` as its arrays. With one, a checkpoint holds only the
/// dense files, and the save commits the persistent store (which writes the records changed since
/// its previous commit: an incremental save); the checkpoint's metadata names the commit (the
/// store's id, the commit's generation and step) so a resume can check that the store still holds
/// exactly those rows. A persistent store keeps its last commit only, so only the newest
/// checkpoint can be resumed with it. A model save (`--model_save_dir`) always holds a snapshot, so
/// it can be loaded or predicted with on its own.
///
/// **Commit arrays.** Each commit carries `store.checkpointState()` (filter counts, counters,
/// AdamAsync's powers) plus `trainer.step`, so the store alone restores the filter exactly.
public final class EmbeddingPersistence {
    public let store: EmbeddingStore
    /// The persistent store the rows are committed to (its storage is `store.storage`), or nil.
    public let persistent: PersistentStore?
    public var durable: (any DurableRowStorage)? { persistent?.storage }
    /// The training step the persistent store's last commit holds, when it is a step of this run
    /// (nil: not committed by or for this run yet, so the next save must commit).
    public private(set) var committedStep: Int?
    /// The step of a commit prepared (`prepare(step:)`) and not yet finished.
    private var preparedStep: Int?

    public static let snapshotFile = "embedding_store.rows"
    /// Metadata keys of a model file saved with a store.
    public static let kindKey = "embedding_store.kind"
    public static let optimizerKey = "embedding_store.optimizer"
    /// `snapshot` (the rows are in `embedding_store.rows` beside) or `persistent` (in a commit of
    /// the store named by the three keys below).
    public static let rowsKey = "embedding_store.rows"
    public static let storeIDKey = "embedding_store.id"
    public static let generationKey = "embedding_store.generation"
    public static let stepKey = "embedding_store.step"
    public static let directoryKey = "embedding_store.directory"
    /// A checkpoint of a run on several ranks, each with its own persistent store: how many, and
    /// per rank r the commit of its store (`embedding_store.rank.<r>.id`, `.generation`,
    /// `.directory`; the step is `stepKey`'s).
    public static let ranksKey = "embedding_store.ranks"
    static func rankKey(_ r: Int, _ field: String) -> String { "embedding_store.rank.\(r).\(field)" }
    static let stepArray = "trainer.step"

    public init(store: EmbeddingStore, persistent: PersistentStore?) {
        precondition(persistent == nil || persistent!.storage === store.storage, "EmbeddingPersistence: the persistent storage must be the store's storage")
        self.store = store
        self.persistent = persistent
    }

    /// Where the embedding rows of a saved model are, read from its metadata.
    public enum SavedRows: Equatable {
        /// Saved without a store: the table is in the model file.
        case inModel
        case snapshot
        /// A table sharded by key across `count` ranks: each rank's shard in its own file beside
        /// the model (`ShardFiles`), with the checksum each was saved with.
        case shards(count: Int, checksums: [UInt32])
        case persistent(id: String, generation: UInt64, step: Int, directory: String)
    }

    /// `rank`: this process's rank in a run on several ranks, whose checkpoints name each rank's
    /// persistent store commit: the commit of `rank`'s store is returned.
    public static func savedRows(_ metadata: [String: String], file: String, rank: Int? = nil) throws(EmbeddingStoreError) -> SavedRows {
        guard let rows = metadata[rowsKey] else { return .inModel }
        if rows == "persistent", let rank, let count = metadata[ranksKey].flatMap(Int.init), rank < count {
            var mine = metadata
            for field in ["id", "generation", "directory"] { mine[rankKey(rank, field)].map { mine["embedding_store.\(field)"] = $0 } }
            mine[ranksKey] = nil
            return try savedRows(mine, file: file)
        }
        switch rows {
        case "snapshot": return .snapshot
        case "shards":
            let (count, checksums) = try ShardFiles.parse(metadata, file: file)
            return .shards(count: count, checksums: checksums)
        case "persistent":
            guard let id = metadata[storeIDKey], let g = metadata[generationKey].flatMap(UInt64.init), let s = metadata[stepKey].flatMap(Int.init) else {
                throw EmbeddingStoreError("\(file): the metadata names a persistent embedding store but not its \(storeIDKey), \(generationKey) and \(stepKey)")
            }
            return .persistent(id: id, generation: g, step: s, directory: metadata[directoryKey] ?? "?")
        default:
            throw EmbeddingStoreError("\(file): unknown \(rowsKey) \"\(rows)\" in the metadata")
        }
    }

    /// The persistent store's last commit, in the words of an error message.
    public var committedDescription: String { persistent?.committedDescription ?? "no persistent store" }

    /// Commits the persistent store with the store's state as of `step`, unless its last commit
    /// already holds this step of this run. Returns the records written, or nil when there was
    /// nothing to commit (or no persistent store).
    /// A commit prepared for this step (`prepare(step:)`) is finished instead.
    @discardableResult
    public func commit(step: Int) throws -> Int? {
        guard let durable, committedStep != step else { return nil }
        if preparedStep == step {
            try durable.finishPrepared()
            preparedStep = nil
        } else {
            try durable.commit(arrays: arrays(step))
        }
        committedStep = step
        return durable.lastCommitRecords
    }

    /// Phase one of the commit of `step` (`DurableRowStorage.prepare`), for a checkpoint across
    /// ranks: every rank prepares, rank 0 writes the checkpoint, then every rank finishes with
    /// `commit(step:)`. Nothing to do when the last commit already holds this step.
    public func prepare(step: Int) throws {
        guard let durable, committedStep != step, preparedStep != step else { return }
        try durable.prepare(arrays: arrays(step))
        preparedStep = step
    }

    /// What a commit of `step` carries beside the rows: the store's state and the step.
    private func arrays(_ step: Int) -> [String: [UInt64]] {
        var arrays = store.checkpointState()
        arrays[Self.stepArray] = [UInt64(step)]
        return arrays
    }

    /// Records that this run continues from the persistent store's last commit, made at `step` (a
    /// resumed checkpoint's), so a save at that step need not commit again.
    public func resumed(atStep step: Int) { committedStep = step }

    /// What a save at `step` into `directory` puts beside the model file, before it is written:
    /// with `snapshot` or without a persistent store, `embedding_store.rows`; otherwise nothing,
    /// the commit being made after the model file (`commit(step:)`). Returns the model file's
    /// metadata about the rows.
    /// `ranks`: metadata from the other ranks of a distributed run: the shard files every rank of a
    /// table sharded by key has already written into `directory` (`ShardFiles`; they then hold the
    /// rows instead of a snapshot), or the commits every rank's persistent store is about to make.
    public func prepareSave(in directory: String, step: Int, snapshot: Bool, ranks: [String: String]? = nil) throws -> [String: String] {
        var meta = [Self.kindKey: store.kind.rawValue, Self.optimizerKey: store.rowOptimizer.kind.rawValue]
        meta.merge(ranks ?? [:]) { _, b in b }
        if ranks?[Self.rowsKey] != nil {
            return meta
        } else if snapshot || durable == nil {
            try RowSnapshot.save(store.storage, arrays: store.checkpointState(), to: (directory as NSString).appendingPathComponent(Self.snapshotFile))
            meta[Self.rowsKey] = "snapshot"
        } else if let persistent {
            meta[Self.rowsKey] = "persistent"
            meta[Self.storeIDKey] = persistent.manifest.id
            meta[Self.generationKey] = "\(committedStep == step ? persistent.storage.generation : persistent.storage.generation + 1)"
            meta[Self.stepKey] = "\(step)"
            meta[Self.directoryKey] = persistent.directory
        }
        return meta
    }

    /// The commit a save at `step` names for the persistent store, `id`, `generation` and
    /// `directory` separated by tabs (nil without a persistent store): the next commit, unless the
    /// last one already holds this step.
    public func commitName(step: Int) -> String? {
        guard let persistent else { return nil }
        return "\(persistent.manifest.id)\t\(committedStep == step ? persistent.storage.generation : persistent.storage.generation + 1)\t\(persistent.directory)"
    }

    /// Loads `embedding_store.rows` from a saved model's `directory` into the store, whose storage
    /// must be empty, and restores the store's state from it.
    public func restoreSnapshot(from directory: String) throws {
        let path = (directory as NSString).appendingPathComponent(Self.snapshotFile)
        guard FileManager.default.fileExists(atPath: path) else {
            throw EmbeddingStoreError("\(directory): its model file says the embedding rows are in \(Self.snapshotFile), which is missing")
        }
        if store.storage.count > 0 {
            throw EmbeddingStoreError("\(path): cannot be loaded: the persistent store \(committedDescription) already holds \(store.storage.count) rows; "
                                      + "give an empty --persistent_path to load these rows into")
        }
        let arrays = try RowSnapshot.load(into: store.storage, from: path)
        try store.restoreCheckpointState(arrays)
    }

    /// Restores the store's state (filter, counters) from the persistent store's last commit.
    public func restoreCommitted() throws {
        guard let durable else { return }
        var arrays = durable.committedArrays
        arrays[Self.stepArray] = nil
        try store.restoreCheckpointState(arrays)
    }
}

/// A persistent store opened in its directory, with the manifest it was claimed with.
public struct PersistentStore {
    public let storage: any DurableRowStorage
    public let directory: String
    public let manifest: StoreManifest
    /// The run's claim on `directory`, held as long as the store is in use.
    public var lock: DirectoryLock?

    public init(storage: any DurableRowStorage, directory: String, manifest: StoreManifest) {
        self.storage = storage
        self.directory = directory
        self.manifest = manifest
    }

    /// Whether the last commit is exactly the one `rows` names (same store, generation and step).
    public func holds(_ rows: EmbeddingPersistence.SavedRows) -> Bool {
        guard case .persistent(let id, let generation, let step, _) = rows else { return false }
        return id == manifest.id && generation == storage.generation && storage.committedArrays[EmbeddingPersistence.stepArray] == [UInt64(step)]
    }

    /// The step the last commit holds (nil before the first commit).
    public var committedStep: Int? { storage.committedArrays[EmbeddingPersistence.stepArray]?.first.map { Int($0) } }

    /// The last commit, in the words of an error message.
    public var committedDescription: String {
        "\(directory) at commit \(storage.generation) (\(committedStep.map { "step \($0)" } ?? "no step"))"
    }
}
