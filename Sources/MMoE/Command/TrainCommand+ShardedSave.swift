import Foundation

/// Saves of a run on several ranks whose embedding rows are not all on rank 0: a table sharded by
/// key (`--embedding_sharding key`: every rank writes its own shard file into the save, see
/// `ShardFiles`), or persistent stores (`--persistent_path`, one per rank under
/// `<path>/<rank>-<N>`: a checkpoint names every rank's store commit). Rank 0 writes the dense
/// files and completes the save (its model file, written last) only once every rank's part is
/// ready, and every rank learns how the save went, so a failure anywhere stops every rank with the
/// same story instead of leaving some waiting.
extension TrainCommand {
    /// Collective on several ranks. `directory` is rank 0's save about to be written (ignored on
    /// the other ranks); `body` runs on rank 0 with the metadata the other ranks contribute (nil in
    /// one process, or when rank 0 holds every row) and writes the save.
    ///
    /// - With a table sharded by key (and no persistent store committed by this save): every rank
    ///   writes its shard into `directory`, the ranks gather their outcomes, and only when all
    ///   succeeded does rank 0 run `body` with the shards' metadata. A failed shard leaves the save
    ///   without its model file, so the previous checkpoint stays the newest complete one.
    /// - With persistent stores and `committing` (a `--checkpoint` save at a step), a two-phase
    ///   commit: every rank's store prepares its commit (written, not yet its state), the ranks
    ///   gather the outcomes and the commits, rank 0 runs `body` with them (the model file is the
    ///   decision; its own store finishes after it), then every other rank finishes. A rank that
    ///   stops between the model file and its finish leaves a prepared commit, which its store
    ///   applies when reopened because the checkpoint names it (`TrainCommand.checkpointNames`);
    ///   one that stops before the model file leaves commits every store drops. A resume takes the
    ///   newest checkpoint whose commits every rank's store holds.
    func savingAcrossRanks(_ trainer: Trainer, into directory: String?, committing: (persistence: EmbeddingPersistence, step: Int)? = nil,
                           _ body: ([String: String]?) throws -> Void) throws {
        guard let c = communicator, c.size > 1 else {
            try body(nil)
            return
        }
        let commits = committing.flatMap { $0.persistence.persistent != nil ? $0 : nil }
        guard commits != nil || trainer.shardedEmbedding != nil else {
            if isRoot { try body(nil) }
            return
        }
        guard let dir = c.rootText(directory) else { return }
        var metadata: [String: String]
        if let commits {
            // Phase one: every rank's store prepares its commit; the checkpoint is written only
            // when all did, and the stores finish their commits after its model file.
            var prepareFailure: String?
            do { try commits.persistence.prepare(step: commits.step) } catch { prepareFailure = "\(error)" }
            let prepared = c.allGather(prepareFailure.map { [1] + RankText.encode($0) } ?? [0])
            if let r = prepared.firstIndex(where: { $0.first == 1 }) {
                throw TrainingError(description: "rank \(r) of \(c.size) could not prepare its embedding store's commit for the checkpoint in \(dir): "
                                    + "\(RankText.decode(prepared[r].dropFirst())); the checkpoint was not written (the previous one stays the newest complete one)")
            }
            let named = c.allGather(RankText.encode(commits.persistence.commitName(step: commits.step) ?? "")).map { RankText.decode($0[...]) }
            metadata = [EmbeddingPersistence.ranksKey: "\(c.size)"]
            for (r, name) in named.enumerated() {
                let parts = name.split(separator: "\t", maxSplits: 2).map(String.init)
                guard parts.count == 3 else { continue }
                for (field, value) in zip(["id", "generation", "directory"], parts) { metadata[EmbeddingPersistence.rankKey(r, field)] = value }
            }
        } else {
            let written = trainer.shardedEmbedding!.writeShards(in: dir)
            if let r = written.firstIndex(where: { $0.failure != nil }) {
                throw TrainingError(description: "rank \(r) of \(c.size) could not write its shard of the embedding table into \(dir): "
                                    + "\(written[r].failure!); the save was not completed (the previous checkpoint stays the newest complete one)")
            }
            metadata = ShardFiles.metadata(written)
        }
        var failure: Error?
        if c.rank == 0 {
            do { try body(metadata) } catch { failure = error }
        }
        if let message = c.rootText(failure.map { "\($0)" }) {
            if let failure { throw failure }
            throw TrainingError(description: "rank 0 could not complete the save in \(dir): \(message)")
        }
        guard let commits else { return }
        var commitFailure: String?
        if c.rank != 0 {
            do { try commits.persistence.commit(step: commits.step) } catch { commitFailure = "\(error)" }
        }
        let outcomes = c.allGather(commitFailure.map { [1] + RankText.encode($0) } ?? [0])
        if let r = outcomes.firstIndex(where: { $0.first == 1 }) {
            throw TrainingError(description: "rank \(r) of \(c.size) could not finish its embedding store's commit for the checkpoint in \(dir): "
                                + "\(RankText.decode(outcomes[r].dropFirst())); the commit is prepared and the checkpoint complete, "
                                + "so the store finishes it when the run is resumed")
        }
    }

    /// Whether every rank's persistent store holds the commit a checkpoint names for it (`held`:
    /// this rank's answer). Collective on several ranks.
    func everyRankHolds(_ held: Bool) -> Bool {
        guard let c = communicator, c.size > 1 else { return held }
        return c.allGather([held ? 1 : 0] as [Float]).allSatisfy { $0.first == 1 }
    }
}
