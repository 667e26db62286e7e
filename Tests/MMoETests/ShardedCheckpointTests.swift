import XCTest
import Foundation
@testable import MMoE

/// Checkpoints and saves of a table sharded by key (`--embedding_sharding key`), with `mmoe-train`
/// run as N ranks on threads (`LoopbackCommunicator`): each rank writes its own shard file, rank 0
/// the dense files, the checkpoint is complete only when every shard is; a resume on the same rank
/// count, on another (re-hashed) and in one process continues to the bits of a straight run; a
/// failed shard write (or dense write) leaves the previous checkpoint the newest; `--ev_filter cbf`
/// resumes on the same rank count and is refused clearly on another.
final class ShardedCheckpointTests: XCTestCase {
    override func tearDown() { FileFaults.disarm() }

    /// Census with EmbeddingVariable rows, admission and eviction, 4 row shards whatever the rank
    /// count (so every layout has the bits of one process).
    func flags(_ data: String, filter: String = "counter", sharding: String = "key") -> [String] {
        ["--data_dir", data, "--batch_size", "128", "--train_batches", "6", "--loss_print_interval", "2", "--threads", "1", "--no_eval",
         "--embedding_vec_size", "4", "--expert_dnn", "16", "--tower_dnn", "8", "--ev", "True", "--ev_filter", filter,
         "--ev_filter_freq", "2", "--ev_elimination", "gstep", "--ev_steps_to_live", "3", "--ev_eviction_interval", "2", "--inter", "4",
         "--optimizer", "adam", "--embedding_sharding", sharding]
    }

    final class Lines: @unchecked Sendable { var all: [String] = [] }

    /// Runs `mmoe-train` on `ranks` ranks of threads (one process when 1); returns rank 0's lines.
    @discardableResult
    func train(ranks: Int, _ args: [String]) throws -> [String] {
        func command(_ c: (any Communicator)?) throws -> [String] {
            let lines = Lines()
            var command = TrainCommand(options: try TrainOptions.parse(args), print: { lines.all.append($0) }, printError: { lines.all.append($0) })
            command.communicator = c
            try command.run()
            return lines.all
        }
        if ranks == 1 { return try command(nil) }
        return try LoopbackCommunicator.run(ranks: ranks) { c in try command(c) }[0]
    }

    /// The rows of a save, by key, as `mmoe-predict` loads them (shard files merged, or a snapshot).
    static func rows(_ save: String) throws -> [UInt64: [UInt32]] {
        let store = try XCTUnwrap(try CheckpointManifest.loadModelAndStore(from: save).store)
        return try ShardedEmbeddingTests.rows(store.storage)
    }

    static func storeCounters(_ out: String) throws -> [Int] {
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as! [String: Any]
        let store = try XCTUnwrap(summary["embedding_store"] as? [String: Any])
        return ["rows", "admissions", "evictions", "zero_lookups", "filter_keys"].map { store[$0] as? Int ?? -1 }
    }

    func testShardedCheckpointResumesOnSameAndOtherRankCounts() throws {
        let data = try PredictFixture.censusDirectory(self, trainRows: 700, testRows: 100)
        let straight = try PredictFixture.temporaryDirectory(self)
        try train(ranks: 1, flags(data) + ["--output_dir", straight + "/out", "--model_save_dir", straight + "/models"])
        let straightSave = straight + "/models/final_checkpoint"
        let expectedRows = try Self.rows(straightSave)
        XCTAssertGreaterThan(expectedRows.count, 10)
        XCTAssertTrue(FileManager.default.fileExists(atPath: straightSave + "/" + EmbeddingPersistence.snapshotFile), "one process saves one snapshot")

        for (first, second) in [(2, 2), (2, 4), (4, 2), (2, 1)] {
            let dir = try PredictFixture.temporaryDirectory(self)
            try train(ranks: first, flags(data) + ["--train_batches", "3", "--checkpoint", dir + "/ckpt", "--output_dir", dir + "/out"])
            let checkpoint = dir + "/ckpt/model.ckpt-3"
            XCTAssertFalse(FileManager.default.fileExists(atPath: checkpoint + "/" + EmbeddingPersistence.snapshotFile), "no merged snapshot")
            var held = 0
            for r in 0..<first {
                let storage = MemoryRowStorage(width: 4 + 8 + 2)
                try RowSnapshot.load(into: storage, from: checkpoint + "/" + ShardFiles.name(rank: r, of: first))
                let keys = try ShardedEmbeddingTests.rows(storage).keys
                XCTAssertTrue(keys.allSatisfy(KeyShard(rank: r, count: first).owns), "\(first) ranks: shard \(r) holds only its keys")
                held += keys.count
            }
            XCTAssertGreaterThan(held, 0)

            let lines = try train(ranks: second, flags(data) + ["--checkpoint", dir + "/ckpt", "--output_dir", dir + "/out", "--model_save_dir", dir + "/models"])
            XCTAssertTrue(lines.contains { $0.hasPrefix("Resuming from \(checkpoint)") }, "\(first) -> \(second): \(lines)")
            let save = dir + "/models/final_checkpoint"
            if second > 1 {
                XCTAssertTrue(FileManager.default.fileExists(atPath: save + "/" + ShardFiles.name(rank: second - 1, of: second)))
            }
            XCTAssertEqual(try DistributedTests.weights(save), try DistributedTests.weights(straightSave), "\(first) -> \(second) ranks: dense weights")
            XCTAssertEqual(try Self.rows(save), expectedRows, "\(first) -> \(second) ranks: the rows, optimizer state and bookkeeping")
            XCTAssertEqual(try Self.storeCounters(dir + "/out"), try Self.storeCounters(straight + "/out"), "\(first) -> \(second) ranks: counters")
        }
    }

    /// A shard that fails to be written (rank 1's), or rank 0's model file, at the checkpoint of
    /// step 4: every rank stops with an error naming it, the checkpoint of step 4 has no model file,
    /// the one of step 2 stays the newest complete one, and a rerun resumes from it to a straight
    /// run's bits.
    func testFailedShardWriteLeavesThePreviousCheckpointNewest() throws {
        let data = try PredictFixture.censusDirectory(self, trainRows: 700, testRows: 100)
        let straight = try PredictFixture.temporaryDirectory(self)
        try train(ranks: 1, flags(data) + ["--train_batches", "4", "--output_dir", straight + "/out", "--model_save_dir", straight + "/models"])
        for (failing, message) in [("model.ckpt-4/" + ShardFiles.name(rank: 1, of: 2), "rank 1 of 2"), ("model.ckpt-4/.model.safetensors", "model.safetensors")] {
            let dir = try PredictFixture.temporaryDirectory(self)
            let args = flags(data) + ["--train_batches", "4", "--save_steps", "2", "--checkpoint", dir + "/ckpt", "--output_dir", dir + "/out"]
            FileFaults.arm(failAt: nil, failMatching: failing)
            XCTAssertThrowsError(try train(ranks: 2, args)) { XCTAssertTrue("\($0)".contains(message), "\($0)") }
            FileFaults.disarm()
            let checkpoints = CheckpointDirectory(path: dir + "/ckpt", keep: 5)
            XCTAssertEqual(checkpoints.latest()?.step, 2, "failing \(failing)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/ckpt/model.ckpt-4/" + ModelCheckpoint.fileName))

            let lines = try train(ranks: 2, args + ["--model_save_dir", dir + "/models"])
            XCTAssertTrue(lines.contains { $0.hasPrefix("Resuming from \(dir)/ckpt/model.ckpt-2") }, "\(lines)")
            XCTAssertEqual(try DistributedTests.weights(dir + "/models/final_checkpoint"), try DistributedTests.weights(straight + "/models/final_checkpoint"))
            XCTAssertEqual(try Self.rows(dir + "/models/final_checkpoint"), try Self.rows(straight + "/models/final_checkpoint"))
        }
    }

    /// `--ev_filter cbf`: each rank's counting Bloom filter is saved in its shard file; a resume on
    /// the same rank count is a straight run; another rank count is refused, naming the flags.
    func testCountingBloomFilterShardsResumeOnTheSameRankCountOnly() throws {
        let data = try PredictFixture.censusDirectory(self, trainRows: 700, testRows: 100)
        let straight = try PredictFixture.temporaryDirectory(self)
        try train(ranks: 2, flags(data, filter: "cbf") + ["--output_dir", straight + "/out", "--model_save_dir", straight + "/models"])
        let dir = try PredictFixture.temporaryDirectory(self)
        let args = flags(data, filter: "cbf") + ["--checkpoint", dir + "/ckpt", "--output_dir", dir + "/out"]
        try train(ranks: 2, args + ["--train_batches", "3"])
        XCTAssertThrowsError(try train(ranks: 4, args)) {
            XCTAssertTrue("\($0)".contains("--ev_filter cbf") && "\($0)".contains("mpirun -np 2"), "\($0)")
        }
        XCTAssertThrowsError(try train(ranks: 1, args)) { XCTAssertTrue("\($0)".contains("--ev_filter cbf"), "\($0)") }
        let lines = try train(ranks: 2, args + ["--model_save_dir", dir + "/models"])
        XCTAssertTrue(lines.contains { $0.hasPrefix("Resuming from") }, "\(lines)")
        XCTAssertEqual(try DistributedTests.weights(dir + "/models/final_checkpoint"), try DistributedTests.weights(straight + "/models/final_checkpoint"))
        XCTAssertEqual(try Self.rows(dir + "/models/final_checkpoint"), try Self.rows(straight + "/models/final_checkpoint"))
        XCTAssertEqual(try Self.storeCounters(dir + "/out"), try Self.storeCounters(straight + "/out"))
    }

    /// A save whose shard file was replaced after the save completed (another run's file of the
    /// same name) is refused by its checksum, naming the file.
    func testShardFileOfAnotherSaveIsRefused() throws {
        let data = try PredictFixture.censusDirectory(self, trainRows: 300, testRows: 100)
        let a = try PredictFixture.temporaryDirectory(self), b = try PredictFixture.temporaryDirectory(self)
        try train(ranks: 2, flags(data) + ["--train_batches", "2", "--output_dir", a + "/out", "--model_save_dir", a + "/models"])
        try train(ranks: 2, flags(data) + ["--train_batches", "3", "--output_dir", b + "/out", "--model_save_dir", b + "/models"])
        let name = "/models/final_checkpoint/" + ShardFiles.name(rank: 1, of: 2)
        try FileManager.default.removeItem(atPath: a + name)
        try FileManager.default.copyItem(atPath: b + name, toPath: a + name)
        XCTAssertThrowsError(try CheckpointManifest.loadModelAndStore(from: a + "/models/final_checkpoint")) {
            XCTAssertTrue("\($0)".contains(ShardFiles.name(rank: 1, of: 2)) && "\($0)".contains("checksum"), "\($0)")
        }
    }

    /// Persistent stores (`cached_host_mem` with `--persistent_path`, one per rank under
    /// `<path>/<rank>-<N>`) with `--checkpoint` on 2 ranks, sharded by key and replicated: each
    /// checkpoint names every rank's store commit, a resume on 2 ranks continues from them to a
    /// straight run's bits, and a resume on 4 ranks is refused, naming the rank count to use.
    func testPersistentStoresCheckpointEveryRanksCommit() throws {
        let data = try PredictFixture.censusDirectory(self, trainRows: 700, testRows: 100)
        let straight = try PredictFixture.temporaryDirectory(self)
        try train(ranks: 1, flags(data) + ["--output_dir", straight + "/out", "--model_save_dir", straight + "/models"])
        for layout in ["key", "replicated"] {
            let dir = try PredictFixture.temporaryDirectory(self)
            let args = flags(data, sharding: layout) + ["--store_type", "cached_host_mem", "--persistent_path", dir + "/store",
                                      "--checkpoint", dir + "/ckpt", "--save_steps", "2", "--output_dir", dir + "/out"]
            try train(ranks: 2, args + ["--train_batches", "3"])
            let metadata = try ModelCheckpoint.metadata(in: dir + "/ckpt/model.ckpt-3")
            XCTAssertEqual(metadata[EmbeddingPersistence.ranksKey], "2", layout)
            XCTAssertEqual(metadata["embedding_store.rank.1.directory"], dir + "/store/1-2", layout)
            XCTAssertNotEqual(metadata["embedding_store.rank.0.id"], metadata["embedding_store.rank.1.id"], "each rank's own store")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/ckpt/model.ckpt-3/" + ShardFiles.name(rank: 0, of: 2)), "rows in the stores")

            XCTAssertThrowsError(try train(ranks: 4, args)) { XCTAssertTrue("\($0)".contains("mpirun -np 2") && "\($0)".contains("--checkpoint"), "\($0)") }
            // One process opens the --persistent_path itself, which holds the ranks' stores: refused there.
            XCTAssertThrowsError(try train(ranks: 1, args)) { XCTAssertTrue("\($0)".contains("--persistent_path"), "\($0)") }
            let lines = try train(ranks: 2, args + ["--model_save_dir", dir + "/models"])
            XCTAssertTrue(lines.contains { $0.hasPrefix("Resuming from \(dir)/ckpt/model.ckpt-3") }, "\(layout): \(lines)")
            XCTAssertTrue(lines.contains { $0.contains("rows resumed from \(dir)/store/0-2") }, "\(layout): \(lines)")
            let save = dir + "/models/final_checkpoint"
            XCTAssertEqual(try DistributedTests.weights(save), try DistributedTests.weights(straight + "/models/final_checkpoint"), layout)
            XCTAssertEqual(try Self.rows(save), try Self.rows(straight + "/models/final_checkpoint"), layout)
            XCTAssertEqual(try Self.storeCounters(dir + "/out"), try Self.storeCounters(straight + "/out"), layout)
        }
    }

    /// Persistent stores commit in two phases across ranks: a rank that stops after the
    /// checkpoint's model file and before finishing its own commit (here its finishing rename
    /// fails) leaves a prepared commit, which its store applies when the run is resumed, since the
    /// checkpoint names it: the rerun resumes from that checkpoint and ends with a straight run's
    /// weights and rows (before, the other rank's store had moved on and no checkpoint matched
    /// both). A model file that fails after every store prepared leaves commits every store
    /// drops: the rerun resumes from the checkpoint before.
    func testAStopBetweenTheModelFileAndARanksCommitStillResumes() throws {
        let data = try PredictFixture.censusDirectory(self, trainRows: 700, testRows: 100)
        let straight = try PredictFixture.temporaryDirectory(self)
        try train(ranks: 1, flags(data) + ["--output_dir", straight + "/out", "--model_save_dir", straight + "/models"])
        // Rank 1's finish of the checkpoint at step 4 (its store's third commit: the first holds
        // the created rows, the second the checkpoint of step 2), or rank 0's model file there.
        let cases = [("cached_host_mem", "/store/1-2/prepared-3.delta-3.rows$", 0, "rank 1 of 2", 4),
                     ("cached_ssd", "/store/1-2/commit.wal.prepared$", 2, "rank 1 of 2", 4),
                     ("cached_host_mem", "/ckpt/model.ckpt-4/.model.safetensors", 0, "model.safetensors", 2)]
        for (storeType, failing, skip, message, resumed) in cases {
            let what = "\(storeType), failing \(failing)"
            let dir = try PredictFixture.temporaryDirectory(self)
            let args = flags(data) + ["--store_type", storeType, "--persistent_path", dir + "/store", "--checkpoint", dir + "/ckpt",
                                      "--save_steps", "2", "--output_dir", dir + "/out"]
            FileFaults.arm(failAt: nil, failMatching: "rename " + dir + failing, skippingMatches: skip)
            XCTAssertThrowsError(try train(ranks: 2, args + ["--train_batches", "4"])) { XCTAssertTrue("\($0)".contains(message), "\(what): \($0)") }
            FileFaults.disarm()
            XCTAssertEqual(CheckpointDirectory(path: dir + "/ckpt", keep: 5).latest()?.step, resumed, what)

            let lines = try train(ranks: 2, args + ["--model_save_dir", dir + "/models"])
            XCTAssertTrue(lines.contains { $0.hasPrefix("Resuming from \(dir)/ckpt/model.ckpt-\(resumed)") }, "\(what): \(lines)")
            let save = dir + "/models/final_checkpoint"
            XCTAssertEqual(try DistributedTests.weights(save), try DistributedTests.weights(straight + "/models/final_checkpoint"), what)
            XCTAssertEqual(try Self.rows(save), try Self.rows(straight + "/models/final_checkpoint"), what)
        }
    }
}
