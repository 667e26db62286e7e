import XCTest
import Foundation
import Datasets
@testable import MMoE

/// `--store_type`, `--persistent_path`, `--incremental_ckpt` and checkpoints with an embedding
/// store, through `mmoe-train`: exact resumes, a crash between a checkpoint and its commit,
/// stale stores, and predicting from a saved store.
extension TrainCommandTests {
    /// `smallTaobao` without its step count and with a loss line every step.
    static let storeTaobao = ["--embedding_vec_size", "4", "--expert_dnn", "16, 8", "--tower_dnn", "8", "--batch_size", "32",
                              "--loss_print_interval", "1", "--threads", "1"]

    /// Each step's losses (by step) from a run's `metrics.jsonl`.
    func stepLosses(_ output: String) throws -> [Int: [String: Double]] {
        var out: [Int: [String: Double]] = [:]
        for line in try String(contentsOfFile: output + "/metrics.jsonl", encoding: .utf8).split(separator: "\n") {
            let record = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            if record["type"] as? String == "train" { out[record["step"] as! Int] = record["loss"] as? [String: Double] }
        }
        return out
    }

    /// The embedding rows and store state a run ended with: from a checkpoint's snapshot, or from
    /// the persistent store `persistent` (opened as the run left it).
    func savedRows(checkpoint: String, persistent: String?, cachedSSD: Bool) throws -> (rows: [UInt64: [Float]], arrays: [String: [UInt64]]) {
        if let persistent {
            let manifest = try JSONDecoder().decode(StoreManifest.self, from: Data(contentsOf: URL(fileURLWithPath: persistent + "/store.json")))
            let storage: any DurableRowStorage = cachedSSD
                ? try FileRowStorage(directory: persistent, width: manifest.recordWidth, keys: .sparse, cacheBudgetBytes: 1 << 20)
                : try JournaledRowStorage(directory: persistent, storage: MemoryRowStorage(width: manifest.recordWidth))
            return (try RowFixtures.contents(storage), storage.committedArrays)
        }
        let path = checkpoint + "/" + EmbeddingPersistence.snapshotFile
        let header = try Data(contentsOf: URL(fileURLWithPath: path)).prefix(16)
        let storage = MemoryRowStorage(width: Int(header[12]) | Int(header[13]) << 8)   // word 3: the record width
        let arrays = try RowSnapshot.load(into: storage, from: checkpoint + "/" + EmbeddingPersistence.snapshotFile)
        return (try RowFixtures.contents(storage), arrays)
    }

    /// The dense tensors of a saved model, by name.
    func denseTensors(_ directory: String) throws -> [String: [UInt32]] {
        let file = try SafeTensors.read(path: directory + "/" + ModelCheckpoint.fileName)
        var out: [String: [UInt32]] = [:]
        for name in file.names { out[name] = try file.tensor(name).scalars.map(\.bitPattern) }
        XCTAssertFalse(out.keys.contains { $0.hasPrefix("embedding.") }, "the rows live in the store, not in the model file")
        return out
    }

    /// `--ev True --ev_filter counter`, 15 steps, a checkpoint, and a resume to 30 give the losses of
    /// steps 16-30, the dense parameters, every row (values, Adagrad state, bookkeeping) and the
    /// filter's counts of 30 steps straight, bit for bit, whichever store holds the rows: RAM
    /// (a snapshot in each checkpoint), cached_ssd and cached_host_mem under --persistent_path (a
    /// commit per checkpoint), and --incremental_ckpt's journal beside the checkpoints.
    func testEVWithCounterFilterResumesExactlyUnderEveryStoreType() throws {
        // 2,000 rows: 30 steps of 32 stay within the first epoch, so the filter is still counting.
        let data = try taobaoDirectory(train: 2000, test: 60)
        let common = ["--data_location", data, "--ev", "True", "--ev_filter", "counter"] + Self.storeTaobao
        let setups: [(name: String, flags: (String) -> [String], persistent: Bool, ssd: Bool)] = [
            ("device_mem", { _ in ["--store_type", "device_mem"] }, false, false),
            ("cached_ssd", { ["--store_type", "cached_ssd", "--persistent_path", $0, "--cache_memory_budget_mb", "1"] }, true, true),
            ("cached_host_mem", { ["--store_type", "cached_host_mem", "--persistent_path", $0] }, true, false),
            ("incremental journal", { _ in ["--store_type", "device_mem", "--incremental_ckpt", "3600"] }, false, false),
        ]
        for setup in setups {
            func run(steps: Int, _ dirs: (String, String, String)) throws -> [String] {
                try self.run(common + setup.flags(dirs.1) + ["--steps", "\(steps)", "--checkpoint", dirs.0, "--output_dir", dirs.2]).out
            }
            let straight = (try temporaryDirectory(), try temporaryDirectory() + "/store", try temporaryDirectory())
            _ = try run(steps: 30, straight)
            let split = (try temporaryDirectory(), try temporaryDirectory() + "/store", try temporaryDirectory())
            _ = try run(steps: 15, split)
            let resumed = try run(steps: 30, split)
            XCTAssertTrue(resumed.contains { $0.hasPrefix("Resuming from ") && $0.hasSuffix("(step 15)") }, "\(setup.name): \(resumed)")
            let a = try stepLosses(straight.2), b = try stepLosses(split.2)
            // The resumed run appends to the first part's log (issue 19, defect 11).
            XCTAssertEqual(Array(b.keys).sorted(), Array(1...30), setup.name)
            for step in 16...30 { XCTAssertEqual(a[step], b[step], "\(setup.name) step \(step)") }
            let end = "/model.ckpt-30"
            XCTAssertEqual(try denseTensors(straight.0 + end), try denseTensors(split.0 + end), setup.name)
            let persistentA: String? = setup.persistent ? straight.1 : setup.name == "incremental journal" ? straight.0 + "/embedding_store" : nil
            let persistentB: String? = setup.persistent ? split.1 : setup.name == "incremental journal" ? split.0 + "/embedding_store" : nil
            let rowsA = try savedRows(checkpoint: straight.0 + end, persistent: persistentA, cachedSSD: setup.ssd)
            let rowsB = try savedRows(checkpoint: split.0 + end, persistent: persistentB, cachedSSD: setup.ssd)
            XCTAssertGreaterThan(rowsA.rows.count, 0, setup.name)
            XCTAssertEqual(rowsA.rows.mapValues { $0.map(\.bitPattern) }, rowsB.rows.mapValues { $0.map(\.bitPattern) }, setup.name)
            XCTAssertEqual(rowsA.arrays, rowsB.arrays, setup.name)
            XCTAssertFalse((rowsA.arrays["counter.keys"] ?? []).isEmpty, "\(setup.name): the filter was counting ids")
        }
    }

    /// A crash after checkpoint 20's files but before its commit, with a half-written commit log and
    /// a spill file left in the store: the next run passes over checkpoint 20 (it names a commit
    /// the store never made), deletes it, resumes from checkpoint 10 and trains steps 11-20 exactly
    /// as the run that crashed did.
    func testACrashBetweenACheckpointAndItsCommitResumesFromThePreviousCheckpoint() throws {
        let data = try taobaoDirectory(train: 300, test: 60)
        let store = try temporaryDirectory() + "/store", checkpoint = try temporaryDirectory()
        let args = ["--data_location", data, "--ev", "True", "--ev_filter", "counter", "--store_type", "cached_ssd", "--persistent_path", store,
                    "--cache_memory_budget_mb", "1", "--checkpoint", checkpoint, "--keep_checkpoint_max", "3"] + Self.storeTaobao
        _ = try run(args + ["--steps", "10", "--output_dir", try temporaryDirectory()])
        let atTen = try temporaryDirectory() + "/store-at-10"
        try FileManager.default.copyItem(atPath: store, toPath: atTen)
        let crashedOutput = try temporaryDirectory()
        _ = try run(args + ["--steps", "20", "--output_dir", crashedOutput])
        let afterTwenty = try savedRows(checkpoint: "", persistent: store, cachedSSD: true)
        // The store as the crash left it: commit of step 10, leftovers of the commit that failed.
        try FileManager.default.removeItem(atPath: store)
        try FileManager.default.copyItem(atPath: atTen, toPath: store)
        try Data(repeating: 0xAB, count: 1000).write(to: URL(fileURLWithPath: store + "/commit.wal.partial"))
        try Data(repeating: 0xCD, count: 5000).write(to: URL(fileURLWithPath: store + "/spill.tmp"))

        let output = try temporaryDirectory()
        let r = try run(args + ["--steps", "20", "--output_dir", output])
        XCTAssertTrue(r.out.contains { $0.hasPrefix("Resuming from ") && $0.hasSuffix("model.ckpt-10 (step 10)") }, "\(r.out)")
        XCTAssertTrue(r.err.contains { $0.contains("removed") && $0.contains("model.ckpt-20") }, "\(r.err)")
        let crashed = try stepLosses(crashedOutput), again = try stepLosses(output)
        for step in 11...20 { XCTAssertEqual(again[step], crashed[step], "step \(step)") }
        let rows = try savedRows(checkpoint: "", persistent: store, cachedSSD: true)
        XCTAssertEqual(rows.rows.mapValues { $0.map(\.bitPattern) }, afterTwenty.rows.mapValues { $0.map(\.bitPattern) })
        XCTAssertEqual(rows.arrays, afterTwenty.arrays)
        XCTAssertFalse(FileManager.default.fileExists(atPath: store + "/commit.wal.partial"))

        // A store that has moved past every checkpoint is refused, naming both sides.
        try FileManager.default.removeItem(atPath: checkpoint + "/model.ckpt-10")
        _ = try run(args.filter { $0 != checkpoint && $0 != "--checkpoint" } + ["--steps", "25", "--output_dir", try temporaryDirectory()])
        XCTAssertThrowsError(try run(args + ["--steps", "30", "--output_dir", try temporaryDirectory()])) { error in
            XCTAssertTrue("\(error)".contains("no checkpoint matches the embedding rows of \(store) at commit"), "\(error)")
        }
    }

    /// `--store_type cached_host_mem --persistent_path` on Census (the hashed table as a fixed store):
    /// a second run resumes the rows the first committed at its end; a model save holds its rows
    /// and loads into a run with an empty store.
    func testCachedHostMemPersistsTheHashedTableAcrossRuns() throws {
        let census = try censusDirectory()
        let store = try temporaryDirectory() + "/kv", saved = try temporaryDirectory()
        let args = ["--data_dir", census, "--store_type", "cached_host_mem", "--persistent_path", store, "--train_batches", "6",
                    "--batch_size", "16", "--expert_dnn", "8", "--embedding_vec_size", "4", "--threads", "1"]
        let first = try run(args + ["--output_dir", try temporaryDirectory(), "--model_save_dir", saved])
        XCTAssertTrue(first.out.contains { $0.hasPrefix("Embedding store: fixed;") && $0.contains("committed to \(store) at each save") }, "\(first.out)")
        XCTAssertTrue(first.out.contains { $0.hasPrefix("Embedding store: ") && $0.contains("rows created and written to \(store) (commit 1)") }, "\(first.out)")
        let firstRows = try savedRows(checkpoint: "", persistent: store, cachedSSD: false)
        let snapshot = try savedRows(checkpoint: saved + "/final_checkpoint", persistent: nil, cachedSSD: false)
        XCTAssertEqual(firstRows.rows, snapshot.rows, "the model save holds the rows the store committed at its end")

        let second = try run(args + ["--output_dir", try temporaryDirectory()])
        XCTAssertTrue(second.out.contains { $0.contains("rows resumed from \(store) at commit 2 (step 6)") }, "\(second.out)")
        XCTAssertNotEqual(try savedRows(checkpoint: "", persistent: store, cachedSSD: false).rows, firstRows.rows, "the second run trained on")

        // The save loads into a run whose store is empty, and is refused by one whose store holds rows.
        let fresh = try temporaryDirectory() + "/kv2"
        let loaded = try run(args.map { $0 == store ? fresh : $0 } + ["--model_load_dir", saved + "/final_checkpoint", "--output_dir", try temporaryDirectory()])
        XCTAssertTrue(loaded.out.contains { $0.contains("rows loaded from \(saved)/final_checkpoint/embedding_store.rows") }, "\(loaded.out)")
        XCTAssertThrowsError(try run(args + ["--model_load_dir", saved + "/final_checkpoint", "--output_dir", try temporaryDirectory()])) { error in
            XCTAssertTrue("\(error)".contains("already holds"), "\(error)")
        }
    }

    /// `--incremental_ckpt 1` on the hashed table in cached_ssd: without --checkpoint, commits of
    /// the store about every second, each writing only the rows changed since the one before (a
    /// few hundred of the 710,310); with --checkpoint, each is a checkpoint.
    func testIncrementalSavesWriteOnlyTheChangedRows() throws {
        let data = try taobaoDirectory(train: 400, test: 50)
        var args = ["--data_location", data, "--store_type", "cached_ssd", "--persistent_path", try temporaryDirectory() + "/store",
                    "--incremental_ckpt", "1", "--no_eval", "--output_dir", try temporaryDirectory()] + Self.storeTaobao
        let r = try run(args + ["--steps", "4000"])
        let increments = r.out.filter { $0.hasPrefix("Incremental save at step ") }
        XCTAssertGreaterThan(increments.count, 0, "the run took \(r.summary.trainSeconds) s")
        for line in increments {
            // "... (embedding rows: W changed of R held, written to DIR, commit G; T s)"
            let numbers = line.split(separator: "(")[1].split(separator: " ").compactMap { Int($0) }
            XCTAssertEqual(numbers.count, 2, line)
            XCTAssertGreaterThan(numbers[0], 0, line)
            XCTAssertEqual(numbers[1], Taobao.schema.totalRows, line)
            XCTAssertLessThan(numbers[0], 2000, "\(line): only the changed rows")
        }
        args += ["--checkpoint", try temporaryDirectory()]
        let withCheckpoints = try run(args + ["--steps", "4000"])
        XCTAssertTrue(withCheckpoints.out.contains { $0.hasPrefix("Saved incremental checkpoint ") && $0.contains("embedding rows: ") },
                      "\(withCheckpoints.out.filter { !$0.hasPrefix("Rank") })")
    }

    func testStoreTypeRefusals() throws {
        let data = try taobaoDirectory(train: 100, test: 20)
        let base = ["--data_location", data, "--output_dir", try temporaryDirectory()] + Self.smallTaobao
        let refused: [([String], String)] = [
            (["--store_type", "cached_ssd"], "--store_type cached_ssd keeps the embedding table in files under --persistent_path DIR"),
            (["--incremental_ckpt", "60"], "--incremental_ckpt 60 saves the embedding rows changed"),
            (["--store_type", "device_mem", "--persistent_path", "/tmp/x", "--incremental_ckpt", "60"], "give --checkpoint DIR"),
        ]
        for (args, message) in refused {
            XCTAssertThrowsError(try run(base + args), "\(args)") { XCTAssertTrue("\($0)".contains(message), "\(args): \($0)") }
        }
        // A directory that is not a store, and a store of another configuration.
        let foreign = try temporaryDirectory()
        try "x".write(toFile: foreign + "/notes.txt", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try run(base + ["--ev", "True", "--store_type", "cached_ssd", "--persistent_path", foreign])) {
            XCTAssertTrue("\($0)".contains("is not empty and holds no store.json"), "\($0)")
        }
        let store = try temporaryDirectory() + "/store"
        _ = try run(base + ["--ev", "True", "--store_type", "cached_ssd", "--persistent_path", store])
        XCTAssertThrowsError(try run(base + ["--ev", "True", "--store_type", "cached_ssd", "--persistent_path", store, "--optimizer", "adam"])) {
            XCTAssertTrue("\($0)".contains("holds an embedding store of another configuration (optimizer adagrad; this run: adam)"), "\($0)")
        }
        XCTAssertThrowsError(try run(base + ["--ev", "True", "--store_type", "cached_host_mem", "--persistent_path", store])) {
            XCTAssertTrue("\($0)".contains("(store type cached_ssd; this run: cached_host_mem)"), "\($0)")
        }
        // A checkpoint saved with the model's own table is not resumed into a store, nor the reverse.
        let plain = try temporaryDirectory()
        _ = try run(base + ["--checkpoint", plain])
        XCTAssertThrowsError(try run(base.map { $0 == "30" ? "40" : $0 } + ["--checkpoint", plain, "--ev", "True"])) {
            XCTAssertTrue("\($0)".contains("saved without an embedding store"), "\($0)")
        }
        let withStore = try temporaryDirectory()
        _ = try run(base + ["--checkpoint", withStore, "--ev", "True"])
        XCTAssertThrowsError(try run(base.map { $0 == "30" ? "40" : $0 } + ["--checkpoint", withStore])) {
            XCTAssertTrue("\($0)".contains("saved with an embedding store"), "\($0)")
        }
    }

    /// mmoe-predict on a model saved with an EV store: the rows come from its snapshot, and the AUC
    /// is the one training printed; a checkpoint whose rows are a persistent store's commit is
    /// refused, saying where to predict from.
    func testPredictReadsTheRowsOfAModelSavedWithAStore() throws {
        let data = try taobaoDirectory(train: 300, test: 80)
        let saved = try temporaryDirectory(), checkpoint = try temporaryDirectory()
        let r = try run(["--data_location", data, "--ev", "True", "--ev_filter", "counter", "--model_save_dir", saved,
                         "--store_type", "cached_ssd", "--persistent_path", try temporaryDirectory() + "/store", "--checkpoint", checkpoint,
                         "--output_dir", try temporaryDirectory()] + Self.smallTaobao)
        let p = try PredictFixture.predict(["--model_load_dir", saved + "/final_checkpoint", "--input", data + "/" + Taobao.testFileName, "--eval"])
        XCTAssertEqual(p.summary.rows, 80)
        XCTAssertEqual(p.summary.auc, r.summary.finalEvaluation!.auc)
        XCTAssertThrowsError(try PredictFixture.predict(["--model_load_dir", checkpoint + "/model.ckpt-30", "--input", data + "/" + Taobao.testFileName])) {
            XCTAssertTrue("\($0)".contains("predict with a --model_save_dir save of that run"), "\($0)")
        }
    }
}
