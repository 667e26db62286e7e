import Foundation
import Datasets

/// How `mmoe-train` builds and describes its embedding store, opens its persistent store, and
/// decides where a run's embedding rows and dense layers start.
extension TrainCommand {
    /// The backend the store's rows live in: a `FileRowStorage` under `--persistent_path` for
    /// `cached_ssd` (dense keys for a hashed table, sparse ones for raw keys), a
    /// `JournaledRowStorage` over a `MemoryRowStorage` for `cached_host_mem` with
    /// `--persistent_path` or for `--incremental_ckpt` (`TrainOptions.embeddingStoreDirectory`),
    /// a `MemoryRowStorage` otherwise. A persistent directory is claimed first (its `store.json`
    /// must match this run's configuration), so a store of another configuration is never opened.
    func openRowStorage(_ o: TrainOptions, settings: EmbeddingStoreSettings, width: Int, fieldRows: [Int], dataset: DatasetKind) throws
        -> (storage: any RowStorage, persistent: PersistentStore?) {
        guard let directory = o.embeddingStoreDirectory else { return (MemoryRowStorage(width: width), nil) }
        let file = o.storeType == .cachedSSD
        let filter = switch o.evFilter {
        case .none: o.adaptiveEmb ? "counter:\(o.evFilterFreq)" : "none"
        case .counter: "counter:\(o.evFilterFreq)"
        case .cbf: "cbf:\(o.evFilterFreq):\(o.evCBFMaxElements):\(o.evCBFFalsePositive)"
        }
        let flag = o.embeddingStoreDirectory == o.persistentPath ? "--persistent_path" : "--incremental_ckpt's store"
        var wanted = StoreManifest(backend: file ? "file" : "journal", kind: settings.kind, dim: o.embeddingVecSize, optimizer: o.optimizer,
                                   recordWidth: width, fieldRows: fieldRows, dataset: dataset.rawValue, filter: filter)
        if let shard = settings.keyShard, shard.count > 1 { wanted.sharding = "key \(shard.rank) of \(shard.count)" }
        let budget = o.cacheMemoryBudgetMB.multipliedReportingOverflow(by: 1 << 20)
        guard !budget.overflow else {
            throw UsageError("--cache_memory_budget_mb \(o.cacheMemoryBudgetMB): past the largest byte count; give at most \(Int.max >> 20)")
        }
        // Locked before anything in it is read or cleaned up (defects 9 and 10 of issue 19).
        let lock = try Self.lockDirectory(directory, flag: flag)
        do {
            let manifest = try wanted.claim(directory, flag: flag)
            if file {
                // A shard of a hashed table holds a scattered 1/N of its rows: sparse keys.
                let keys: FileRowStorage.Keys = settings.kind == .fixed && (settings.keyShard?.count ?? 1) == 1 ? .dense(capacity: fieldRows.reduce(0, +)) : .sparse
                let storage = try FileRowStorage(directory: directory, width: width, keys: keys, cacheBudgetBytes: budget.partialValue, lock: lock,
                                                 finishing: { checkpointNames(commit: $0, of: manifest.id, o) })
                var persistent = PersistentStore(storage: storage, directory: directory, manifest: manifest)
                persistent.lock = lock
                return (storage, persistent)
            }
            let storage = try JournaledRowStorage(directory: directory, storage: MemoryRowStorage(width: width),
                                                  finishing: { checkpointNames(commit: $0, of: manifest.id, o) })
            var persistent = PersistentStore(storage: storage, directory: directory, manifest: manifest)
            persistent.lock = lock
            return (storage, persistent)
        } catch let error as EmbeddingStoreError {
            throw UsageError(error.description)
        } catch {
            throw UsageError("\(flag) \(directory): \(error)")
        }
    }

    /// Whether a complete checkpoint under `--checkpoint` names commit `generation` of the store
    /// `id` as this rank's: the decision on a prepared commit its store found unfinished when
    /// opened (a rank stopped between a checkpoint's model file and its own commit; see
    /// `DurableRowStorage.prepare`). Without `--checkpoint`, no commit waits on one: dropped.
    func checkpointNames(commit generation: UInt64, of id: String, _ o: TrainOptions) -> Bool {
        guard let directory = o.checkpoint else { return false }
        return CheckpointDirectory(path: directory, keep: 1).all().contains { c in
            guard let metadata = try? ModelCheckpoint.metadata(in: c.path),
                  case .persistent(let saved, let g, _, _)? = try? EmbeddingPersistence.savedRows(metadata, file: c.path, rank: rank) else { return false }
            return saved == id && g == generation
        }
    }

    /// Where the embedding rows of a run start.
    enum RowStart {
        /// Fresh rows (a fixed, adaptive or multihash table's initial rows; none for EV).
        case created
        /// The snapshot (or a sharded table's shard files) beside a saved model (a resumed
        /// checkpoint or `--model_load_dir`).
        case snapshot(directory: String)
        /// The persistent store's last commit, already in the storage; `step` when it is a
        /// resumed checkpoint's (nil: the rows go on in a new run).
        case committed(step: Int?)
    }

    /// The checkpoint a `--checkpoint` run resumes from: the newest complete one whose embedding
    /// rows can be had. With a persistent store, a checkpoint that names a commit the store does not
    /// hold (a crash came between the checkpoint's files and the store's commit) is passed over for
    /// the one before it; if none matches, the run stops with both sides named.
    func resumableCheckpoint(_ checkpoints: CheckpointDirectory, persistent: PersistentStore?) throws
        -> (path: String, step: Int, metadata: [String: String], rows: EmbeddingPersistence.SavedRows)? {
        var passedOver: [String] = []
        for c in checkpoints.all().reversed() {
            let file = (c.path as NSString).appendingPathComponent(ModelCheckpoint.fileName)
            let metadata: [String: String], rows: EmbeddingPersistence.SavedRows
            do {
                metadata = try ModelCheckpoint.metadata(in: c.path)
                rows = try EmbeddingPersistence.savedRows(metadata, file: file, rank: rank)
            } catch { throw UsageError("\(error)") }
            try checkRankCount(metadata, rows, checkpoint: c.path)
            if case .persistent(_, let g, let s, let dir) = rows, !everyRankHolds(persistent?.holds(rows) ?? false) {
                passedOver.append("\((c.path as NSString).lastPathComponent) names commit \(g) (step \(s)) of \(dir)")
                continue
            }
            return (c.path, c.step, metadata, rows)
        }
        guard passedOver.isEmpty else {
            throw UsageError("--checkpoint \(checkpoints.path): no checkpoint matches the embedding rows of "
                             + (persistent?.committedDescription ?? "this run (which has no persistent store)") + ": "
                             + passedOver.joined(separator: "; ") + ". The store has moved on or is another one; resume with the store "
                             + "the checkpoints were saved with, or give a new --checkpoint directory to train from the store's rows")
        }
        return nil
    }

    /// Refuses a checkpoint whose rows are the commits of another number of ranks' persistent
    /// stores (a store's commit cannot be re-hashed over other ranks), naming the flags.
    private func checkRankCount(_ metadata: [String: String], _ rows: EmbeddingPersistence.SavedRows, checkpoint: String) throws(UsageError) {
        guard case .persistent = rows else { return }
        let saved = metadata[EmbeddingPersistence.ranksKey].flatMap(Int.init) ?? 1
        guard saved != worldSize else { return }
        throw UsageError("--checkpoint: \(checkpoint) was saved by \(saved) rank\(saved == 1 ? "" : "s"), its embedding rows being the commits of "
                         + (saved == 1 ? "one persistent store" : "their persistent stores (--persistent_path <path>/<rank>-\(saved))")
                         + "; this run has \(worldSize) rank\(worldSize == 1 ? "" : "s"), and a store's commits cannot be re-hashed over another rank count. "
                         + "Resume it \(saved == 1 ? "in one process" : "with mpirun -np \(saved)"), or give a new --checkpoint directory")
    }

    /// Checks that a saved model's rows (`rows`, read from `path`'s metadata) suit this run and says
    /// where the run's rows start from them.
    func rowStart(loading rows: EmbeddingPersistence.SavedRows, from path: String, step: Int?, hasStore: Bool, persistent: PersistentStore?,
                  o: TrainOptions) throws -> RowStart {
        switch rows {
        case .inModel:
            if hasStore {
                throw UsageError("\(path): saved without an embedding store (its table is in \(ModelCheckpoint.fileName)), but this run keeps "
                                 + "the rows in one (\(o.embeddingStoreFlag)); load it with the store flags it was trained with")
            }
            return .created
        case .snapshot, .shards:
            guard hasStore else { throw storeMismatch(path) }
            return .snapshot(directory: path)
        case .persistent(_, let g, let s, let dir):
            guard hasStore else { throw storeMismatch(path) }
            guard let persistent, persistent.holds(rows) else {
                throw UsageError("\(path): its embedding rows are commit \(g) (step \(s)) of the persistent store \(dir), and "
                                 + (persistent.map { "\($0.committedDescription) is not that commit" } ?? "this run has no persistent store")
                                 + "; load a --model_save_dir save (it holds its rows) or give the store it was saved with")
            }
            return .committed(step: step)
        }
    }

    private func storeMismatch(_ path: String) -> UsageError {
        UsageError("\(path): saved with an embedding store (its rows are not in \(ModelCheckpoint.fileName)); "
                   + "give the store flags it was trained with (--ev, --store_type, --persistent_path, ...)")
    }

    /// One line saying what the store does, printed after the model line.
    static func storeDescription(_ store: EmbeddingStore, _ o: TrainOptions) -> String {
        var parts = ["Embedding store: \(store.kind.rawValue)"]
        switch store.kind {
        case .dynamic: parts.append("one row per raw 64-bit key")
        case .adaptive: parts.append("ids seen \(o.evFilterFreq) times get their own rows, the others share the hashed table")
        case .multihash: parts.append("per field, remainder and quotient tables of about sqrt(buckets) rows, \(store.storage.count) rows in all")
        case .fixed: parts.append("\(store.storage.count) hashed rows")
        }
        if let filter = store.filter, store.kind == .dynamic {
            parts.append("admitted at the \(filter.threshold)\(filter.threshold == 1 ? "st" : filter.threshold == 2 ? "nd" : filter.threshold == 3 ? "rd" : "th") sighting (\(o.evFilter.rawValue))")
        }
        switch store.settings.eviction {
        case .globalSteps(let n): parts.append("rows not updated for \(n) steps evicted every \(store.settings.evictionInterval) steps")
        case .l2Norm(let t): parts.append("rows with L2 norm below \(t) evicted every \(store.settings.evictionInterval) steps")
        case nil: break
        }
        parts.append("records of \(store.layout.width) floats (\(store.layout.dim) values, \(store.layout.stateWidth) \(o.optimizer.rawValue) state, 2 bookkeeping)")
        if let directory = o.embeddingStoreDirectory {
            parts.append((o.storeType == .cachedSSD ? "the table in \(directory) with a cache of \(o.cacheMemoryBudgetMB) MB in RAM, committed"
                                                    : "in RAM, committed to \(directory)")
                         + " at each save" + (o.incrementalCkpt > 0 ? " and every \(o.incrementalCkpt) s" : "") + " and at the end")
        }
        return parts.joined(separator: "; ")
    }
}
