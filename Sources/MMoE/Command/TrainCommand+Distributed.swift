import Foundation

/// `mmoe-train` as one rank of a distributed job (see `Communicator`): rank 0 prints, writes the
/// outputs and saves the checkpoints; the other ranks train the same model and write nothing
/// (their `--output_dir` becomes a scratch directory removed at the end).
extension TrainCommand {
    /// This process's rank (0 when alone).
    var rank: Int { communicator?.rank ?? 0 }
    /// Whether this process prints and writes: rank 0.
    var isRoot: Bool { rank == 0 }
    /// The number of ranks (1 when alone).
    var worldSize: Int { communicator?.size ?? 1 }

    /// The options this rank runs with: refuses what is not distributed yet, and moves a
    /// non-zero rank's outputs to a scratch directory.
    func forRank(_ o: TrainOptions) throws(UsageError) -> TrainOptions {
        guard let c = communicator, c.size > 1 else { return o }
        let launch = "across \(c.size) ranks (mpirun -np \(c.size))"
        if o.microBatch > 1 {
            throw UsageError("--micro_batch \(o.microBatch) is not supported \(launch) yet; drop it, or raise --batch_size (it is the global batch)")
        }
        if o.incrementalCkpt > 0 && o.checkpoint != nil {
            // Its saves fall due by each rank's clock, but a checkpoint is written by all ranks together.
            throw UsageError("--incremental_ckpt \(o.incrementalCkpt) with --checkpoint is not supported \(launch) yet (each rank's clock would call "
                             + "for a checkpoint at a different step); use --save_steps")
        }
        var o = o
        if o.embeddingSharding == .key { try checkKeySharding(o, launch: launch) }
        if let dir = o.embeddingStoreDirectory {
            // Each rank keeps its replica (or shard) of the table in its own store, OneFlow's
            // layout; a checkpoint names every rank's commit.
            guard let path = o.persistentPath, dir == path else {
                throw UsageError("--incremental_ckpt \(o.incrementalCkpt) is not supported \(launch) yet (its store would be one for all ranks); "
                                 + "use --persistent_path with --checkpoint, or drop --incremental_ckpt")
            }
            o.persistentPath = (path as NSString).appendingPathComponent("\(c.rank)-\(c.size)")
        }
        guard c.rank != 0 else { return o }
        o.outputDir = FileManager.default.temporaryDirectory.appendingPathComponent("mmoe-train-rank\(c.rank)-\(getpid())").path
        o.modelSaveDir = nil
        o.tensorboard = false
        o.gateReport = false
        o.saveInitialModel = false
        return o
    }

    /// Rank 0's `value`, on every rank (a decision that reads rank 0's files).
    func rootDecides(_ value: Bool) -> Bool {
        guard let c = communicator, c.size > 1 else { return value }
        return c.allGather([value ? 1 : 0] as [Float])[0][0] != 0
    }

    /// summary.json's account of the ranks: their number, each one's throughput, and what this
    /// one sent per step.
    func distributedRecord(_ summary: TrainingSummary) -> [String: Any] {
        guard let c = communicator, c.size > 1 else { return ["world_size": 1] }
        return ["world_size": c.size, "per_rank_samples_per_sec": summary.trainSeconds > 0 ? summary.samplesPerSecond / Double(c.size) : 0,
                "rank0_bytes_sent_per_step": summary.steps > 0 ? c.bytesSent / summary.steps : 0,
                "embedding_sharding": options.usesEmbeddingStore ? options.embeddingSharding.rawValue : "none"]
    }

    /// The line rank 0 prints about the ranks.
    func distributedLine(_ summary: TrainingSummary) -> String? {
        guard let c = communicator, c.size > 1 else { return nil }
        let perStep = summary.steps > 0 ? c.bytesSent / summary.steps : 0
        return "Distributed: \(c.size) ranks, each computing its shards of every batch; rank 0 sent \(perStep) bytes per step "
            + "(gradient exchange and evaluation)"
    }

    /// Whether this run's embedding store is sharded by key across the ranks.
    func shardsByKey(_ o: TrainOptions) -> Bool {
        o.embeddingSharding == .key && worldSize > 1 && o.usesEmbeddingStore
    }

    /// Refuses what a table sharded by key cannot do yet (exit 2, naming the flag).
    func checkKeySharding(_ o: TrainOptions, launch: String) throws(UsageError) {
        guard o.usesEmbeddingStore else {
            throw UsageError("--embedding_sharding key shards an embedding store (--ev, --multihash, --store_type with --persistent_path); "
                             + "this run keeps the model's own hashed table, which is replicated on every rank: drop the flag or add a store flag")
        }
        let refused: [(Bool, String)] = [
            (o.adaptiveEmb, "--adaptive_emb True (a rare id reads its bucket's shared row, which another rank may own)"),
            (o.amp, "--amp (the loss scaler's overflow check would see one rank's rows only)"),
            (o.incrementalCkpt > 0, "--incremental_ckpt (its increments would be commits of each rank's store)"),
        ]
        if let (_, what) = refused.first(where: { $0.0 }) {
            throw UsageError("\(what) is not supported with --embedding_sharding key \(launch) yet; use --embedding_sharding replicated")
        }
    }

    /// `settings` for this rank's store: its shard of the keys when the table is sharded by key.
    func keySharded(_ settings: EmbeddingStoreSettings?, _ o: TrainOptions) -> EmbeddingStoreSettings? {
        guard var s = settings, shardsByKey(o) else { return settings }
        s.keyShard = KeyShard(rank: rank, count: worldSize)
        return s
    }

    /// The store's statistics, summed over the ranks' shards when sharded by key (collective then:
    /// every rank calls it at the same point).
    func storeStatistics(_ trainer: Trainer) -> EmbeddingStoreStatistics? {
        trainer.shardedEmbedding?.statistics() ?? trainer.embeddingStore?.statistics
    }

    /// Where the rows beside the model in `dir` are, for the log: its snapshot, or its shard files.
    func savedRowsPlace(_ dir: String) -> String {
        let snapshot = (dir as NSString).appendingPathComponent(EmbeddingPersistence.snapshotFile)
        return FileManager.default.fileExists(atPath: snapshot) ? snapshot : "the shard files in \(dir)"
    }

    /// Loads the saved rows beside the model in `dir`: the shard files of a table sharded by key
    /// (`ShardFiles.load`: its own file on the same rank count, re-hashed on another), or a
    /// snapshot of the whole table (this rank's keys only when the table is sharded by key: the
    /// snapshot is a whole table, so any rank count re-hashes it).
    func restoreSnapshot(_ persistence: EmbeddingPersistence, from dir: String, _ o: TrainOptions) throws {
        let shard = persistence.store.settings.keyShard.flatMap { $0.count > 1 ? $0 : nil }
        let file = (dir as NSString).appendingPathComponent(ModelCheckpoint.fileName)
        if case .shards(let count, let checksums) = try EmbeddingPersistence.savedRows(try ModelCheckpoint.metadata(in: dir), file: file) {
            do {
                try ShardFiles.load(into: persistence.store, from: dir, count: count, checksums: checksums, shard: shard)
            } catch let error as EmbeddingStoreError { throw UsageError(error.description) }
        } else if let shard {
            try persistence.restoreSnapshot(from: dir, shard: shard)
        } else {
            try persistence.restoreSnapshot(from: dir)
        }
    }
}
