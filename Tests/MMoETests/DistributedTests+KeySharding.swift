import XCTest
import Foundation
@testable import MMoE

/// `--embedding_sharding key` under `mpirun` (skipped without MPI, as the other DistributedTests):
/// Census with EmbeddingVariable rows, admission and eviction, on 2 and 4 ranks, against one
/// process with as many row shards: the same printed losses and evaluation, the same dense
/// weights, the same store counters, and the same rows (each rank saves its shard file); a sharded
/// checkpoint resumes on another rank count (re-hashed).
extension DistributedTests {
    func censusEV(_ data: String) -> [String] {
        ["--data_dir", data, "--batch_size", "128", "--train_batches", "6", "--loss_print_interval", "2", "--threads", "1",
         "--embedding_vec_size", "4", "--expert_dnn", "16", "--tower_dnn", "8", "--ev", "True", "--ev_filter", "counter",
         "--ev_filter_freq", "2", "--ev_elimination", "gstep", "--ev_steps_to_live", "3", "--ev_eviction_interval", "2", "--inter", "4", "--optimizer", "adam"]
    }

    /// The records of a save, by key, as `mmoe-predict` loads them: one process's
    /// `embedding_store.rows`, or a sharded run's shard files merged.
    static func savedRows(_ checkpoint: String) throws -> [UInt64: [UInt32]] {
        try ShardedCheckpointTests.rows(checkpoint)
    }

    static func storeCounters(_ run: Run) throws -> [Int] {
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run.dir + "/out/summary.json"))) as! [String: Any]
        let store = try XCTUnwrap(summary["embedding_store"] as? [String: Any])
        return ["rows", "admissions", "evictions", "zero_lookups", "filter_keys"].map { store[$0] as? Int ?? -1 }
    }

    func testKeyShardedTableMatchesOneProcessAndReplicated() throws {
        let mpi = try Self.mpiTools()
        let data = try PredictFixture.censusDirectory(self, trainRows: 700, testRows: 200)
        let flags = censusEV(data)
        let one = try train(mpi, ranks: 1, flags)
        let rows = try Self.savedRows(one.dir + "/models/final_checkpoint")
        XCTAssertGreaterThan(rows.count, 10)
        for ranks in [2, 4] {
            let sharded = try train(mpi, ranks: ranks, flags + ["--embedding_sharding", "key"])
            try assertSameRun(one, sharded)
            XCTAssertEqual(try Self.savedRows(sharded.dir + "/models/final_checkpoint"), rows, "\(ranks) ranks: the rows after training")
            XCTAssertEqual(try Self.storeCounters(sharded), try Self.storeCounters(one), "\(ranks) ranks: the store's counters, summed")
            let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: sharded.dir + "/out/summary.json"))) as! [String: Any]
            XCTAssertEqual((summary["distributed"] as? [String: Any])?["embedding_sharding"] as? String, "key")
        }
        let replicated = try train(mpi, ranks: 2, flags + ["--embedding_sharding", "replicated"])
        try assertSameRun(one, replicated)
        XCTAssertEqual(try Self.savedRows(replicated.dir + "/models/final_checkpoint"), rows)
    }

    /// Stopped at step 3 on 2 ranks, resumed to step 6 on 4 (each rank keeps the keys it owns
    /// among 4): the weights and rows of a straight run.
    func testKeyShardedCheckpointResumesOnOtherRankCount() throws {
        let mpi = try Self.mpiTools()
        let data = try PredictFixture.censusDirectory(self, trainRows: 700, testRows: 200)
        let flags = censusEV(data) + ["--embedding_sharding", "key"]
        let straight = try train(mpi, ranks: 1, censusEV(data))
        let dir = try PredictFixture.temporaryDirectory(self)
        let first = try train(mpi, ranks: 2, flags + ["--train_batches", "3", "--checkpoint", dir + "/ckpt"], in: dir)
        XCTAssertEqual(first.status, 0, first.err)
        let resumed = try train(mpi, ranks: 4, flags + ["--checkpoint", dir + "/ckpt"], in: dir)
        XCTAssertTrue(resumed.out.contains("Resuming from"), resumed.out)
        XCTAssertEqual(try Self.weights(straight.dir + "/models/final_checkpoint"), try Self.weights(dir + "/models/final_checkpoint"))
        XCTAssertEqual(try Self.savedRows(straight.dir + "/models/final_checkpoint"), try Self.savedRows(dir + "/models/final_checkpoint"))
    }

    /// Each rank's shard file in the checkpoint, and (with persistent stores) each rank's commit
    /// named by it: 3 steps on 2 processes resumed to 6 on 2 end as a straight run.
    func testKeyShardedPersistentStoresCheckpointAndResume() throws {
        let mpi = try Self.mpiTools()
        let data = try PredictFixture.censusDirectory(self, trainRows: 700, testRows: 200)
        let straight = try train(mpi, ranks: 1, censusEV(data))
        let dir = try PredictFixture.temporaryDirectory(self)
        let flags = censusEV(data) + ["--embedding_sharding", "key", "--store_type", "cached_host_mem", "--persistent_path", dir + "/store",
                                      "--checkpoint", dir + "/ckpt", "--save_steps", "2"]
        let first = try train(mpi, ranks: 2, flags + ["--train_batches", "3"], in: dir)
        XCTAssertEqual(first.status, 0, first.err)
        let metadata = try ModelCheckpoint.metadata(in: dir + "/ckpt/model.ckpt-3")
        XCTAssertEqual(metadata[EmbeddingPersistence.ranksKey], "2")
        XCTAssertEqual(metadata["embedding_store.rank.1.directory"], dir + "/store/1-2")
        let resumed = try train(mpi, ranks: 2, flags, in: dir)
        XCTAssertTrue(resumed.out.contains("Resuming from"), resumed.out)
        XCTAssertEqual(try Self.weights(straight.dir + "/models/final_checkpoint"), try Self.weights(dir + "/models/final_checkpoint"))
        XCTAssertEqual(try Self.savedRows(straight.dir + "/models/final_checkpoint"), try Self.savedRows(dir + "/models/final_checkpoint"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/models/final_checkpoint/" + ShardFiles.name(rank: 1, of: 2)))
    }

    func testKeyShardingRefusesAdaptiveEmbedding() throws {
        let mpi = try Self.mpiTools()
        let data = try PredictFixture.censusDirectory(self, trainRows: 100, testRows: 50)
        let r = try Self.run(mpi.mpirun, Self.mpirunFlags(ranks: 2) + [mpi.binary, "--data_dir", data, "--adaptive_emb", "True",
                                                                       "--embedding_sharding", "key", "--train_batches", "2"])
        XCTAssertEqual(r.status, 2, r.err)
        XCTAssertTrue(r.err.contains("--adaptive_emb") && r.err.contains("--embedding_sharding replicated"), r.err)
    }
}
