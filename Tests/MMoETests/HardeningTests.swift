import XCTest
import Foundation
import Datasets
import Tensor
@testable import MMoE

/// The defects of issue 19 found by hostile use: each test here failed (or trapped) before its fix.
class HardeningTestCase: XCTestCase {
    func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmoe-harden-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    /// A small synthetic run's flags.
    let small = ["--num_train_samples", "256", "--num_test_samples", "40", "--expert_dnn", "8", "--tower_dnn", "4",
                 "--batch_size", "64", "--loss_print_interval", "1", "--threads", "1"]

    /// Runs `mmoe-train` with `arguments`, capturing what it prints.
    @discardableResult
    func train(_ arguments: [String]) throws -> (summary: TrainingSummary, out: [String], err: [String]) {
        var out: [String] = [], err: [String] = []
        let command = TrainCommand(options: try TrainOptions.parse(arguments), print: { out.append($0) }, printError: { err.append($0) })
        let summary = try command.run()
        return (summary, out, err)
    }

    func readJSON(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    }

    /// The error `body` throws, as text ("" when it does not throw: the caller's assertion fails).
    func errorText(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> String {
        do { try body() } catch { return "\(error)" }
        XCTFail("no error thrown", file: file, line: line)
        return ""
    }
}

/// Defect 2: re-running a finished `--checkpoint` run, or resuming below the checkpoint's step.
final class FinishedRunTests: HardeningTestCase {
    func testRerunningAFinishedRunSaysSoAndKeepsItsSummary() throws {
        let root = try temporaryDirectory()
        let flags = small + ["--train_batches", "6", "--save_steps", "3", "--checkpoint", root + "/ck", "--output_dir", root + "/out"]
        try train(flags)
        let summary = try Data(contentsOf: URL(fileURLWithPath: root + "/out/summary.json"))
        let metrics = try Data(contentsOf: URL(fileURLWithPath: root + "/out/metrics.jsonl"))
        let again = try train(flags)
        XCTAssertEqual(again.summary.steps, 0)
        XCTAssertTrue(again.out.contains { $0.contains("already complete") }, "\(again.out.suffix(3))")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: root + "/out/summary.json")), summary)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: root + "/out/metrics.jsonl")), metrics)
    }

    /// A kill after the last checkpoint but before the summary: the re-run evaluates and writes it.
    func testAKillAfterTheLastCheckpointIsFinishedByTheRerun() throws {
        let root = try temporaryDirectory()
        let flags = small + ["--train_batches", "6", "--checkpoint", root + "/ck", "--output_dir", root + "/out"]
        try train(flags)
        try FileManager.default.removeItem(atPath: root + "/out/summary.json")
        let again = try train(flags)
        XCTAssertNotNil(again.summary.finalEvaluation)
        let summary = try readJSON(root + "/out/summary.json")
        XCTAssertNotNil(summary["eval"] as? [String: Any])
    }

    func testResumingWithFewerStepsThanTheCheckpointIsRefused() throws {
        let root = try temporaryDirectory()
        try train(small + ["--train_batches", "6", "--checkpoint", root + "/ck", "--output_dir", root + "/out"])
        let text = errorText { try self.train(self.small + ["--train_batches", "4", "--checkpoint", root + "/ck", "--output_dir", root + "/out"]) }
        XCTAssertTrue(text.contains("--train_batches 4") && text.contains("step 6"), text)
        XCTAssertEqual(CheckpointDirectory(path: root + "/ck", keep: 1).latest()?.step, 6)
    }
}

/// Defect 4: a failed write is an error naming the file, never a trap.
final class WriteErrorTests: HardeningTestCase {
    func testAFullDiskUnderOutputDirIsAnErrorNamingMetrics() throws {
        guard FileManager.default.isWritableFile(atPath: "/dev/full") else { throw XCTSkip("no /dev/full") }
        let out = try temporaryDirectory() + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        // metrics.jsonl leads to a device whose every write fails with ENOSPC.
        try FileManager.default.createSymbolicLink(atPath: out + "/metrics.jsonl", withDestinationPath: "/dev/full")
        let text = errorText { try self.train(self.small + ["--train_batches", "2", "--output_dir", out]) }
        XCTAssertTrue(text.contains("metrics.jsonl"), text)
    }
}

/// Defect 5: every output path is checked before training, naming its flag.
final class OutputPathTests: HardeningTestCase {
    func testUnwritableOutputPathsAreRefusedBeforeTrainingNamingTheFlag() throws {
        let root = try temporaryDirectory()
        let file = root + "/a-file"
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        for (flag, path) in [("--model_save_dir", file + "/m"), ("--output_dir", file), ("--output_dir", file + "/out"),
                             ("--checkpoint", file + "/ck")] {
            var printed: [String] = []
            let extra = flag == "--output_dir" ? [flag, path] : [flag, path, "--output_dir", root + "/out-\(flag.dropFirst(2))"]
            let command = TrainCommand(options: try TrainOptions.parse(small + ["--train_batches", "3"] + extra),
                                       print: { printed.append($0) }, printError: { _ in })
            XCTAssertThrowsError(try command.run(), flag) { error in
                XCTAssertTrue(error is UsageError, "\(flag): \(type(of: error)) \(error)")
                XCTAssertTrue("\(error)".contains("\(flag) \(path)"), "\(error)")
            }
            XCTAssertFalse(printed.contains { $0.hasPrefix("Rank[0], Step") }, "\(flag): trained before refusing")
        }
    }
}

/// Defect 6: a bad line in the Taobao test file is found before training.
final class TaobaoTestFileTests: HardeningTestCase {
    func testABadTestLineIsRefusedBeforeTraining() throws {
        let dir = try temporaryDirectory()
        try TaobaoTrainingTests.lines(200, seed: 1).write(toFile: dir + "/" + Taobao.trainFileName, atomically: true, encoding: .utf8)
        var test = TaobaoTrainingTests.lines(30, seed: 2).split(separator: "\n").map(String.init)
        test[11] = "1,0,p1,not-a-number"
        try (test.joined(separator: "\n") + "\n").write(toFile: dir + "/" + Taobao.testFileName, atomically: true, encoding: .utf8)
        var printed: [String] = []
        let command = TrainCommand(options: try TrainOptions.parse(["--data_location", dir, "--batch_size", "16", "--steps", "5", "--threads", "1",
                                                                    "--output_dir", dir + "/out", "--loss_print_interval", "1"]),
                                   print: { printed.append($0) }, printError: { _ in })
        XCTAssertThrowsError(try command.run()) { error in
            XCTAssertTrue("\(error)".contains(Taobao.testFileName) && "\(error)".contains("12"), "\(error)")
        }
        XCTAssertFalse(printed.contains { $0.hasPrefix("Rank[0], Step") }, "trained before reading the test file")
    }
}

/// Defect 11: a resumed run appends to metrics.jsonl and its summary covers the whole run.
final class ResumeReportTests: HardeningTestCase {
    func trainSteps(_ out: String) throws -> [Int] {
        try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").compactMap { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return object["type"] as? String == "train" ? object["step"] as? Int : nil
        }
    }

    func testAResumedRunKeepsTheEarlierMetricsAndReportsTheWholeRun() throws {
        let root = try temporaryDirectory()
        let common = small + ["--save_steps", "3", "--no_eval", "--checkpoint", root + "/ck", "--output_dir", root + "/out"]
        try train(common + ["--train_batches", "4"])       // checkpoints at 3 and 4
        XCTAssertEqual(try trainSteps(root + "/out"), Array(1...4))
        try train(common + ["--train_batches", "9"])
        XCTAssertEqual(try trainSteps(root + "/out"), Array(1...9))
        let summary = try readJSON(root + "/out/summary.json")
        XCTAssertEqual(summary["steps"] as? Int, 9)
        XCTAssertEqual((summary["train"] as? [String: Any])?["samples"] as? Int, 9 * 64)
    }

    /// Lines logged after the checkpoint resumed from (a kill before the next save) are dropped, not repeated.
    func testLinesAfterTheResumedCheckpointAreNotRepeated() throws {
        let root = try temporaryDirectory()
        let common = small + ["--save_steps", "3", "--no_eval", "--keep_checkpoint_max", "5", "--checkpoint", root + "/ck", "--output_dir", root + "/out"]
        try train(common + ["--train_batches", "5"])       // checkpoints at 3 and 5
        XCTAssertEqual(try trainSteps(root + "/out"), Array(1...5))
        try FileManager.default.removeItem(atPath: root + "/ck/model.ckpt-5")
        let resumed = try train(common + ["--train_batches", "7"])
        XCTAssertTrue(resumed.out.contains { $0.hasPrefix("Resuming from") && $0.contains("step 3") }, "\(resumed.out)")
        XCTAssertEqual(try trainSteps(root + "/out"), Array(1...7))
    }
}

/// Defects 9 and 10: a directory a run writes is locked; a second run is refused naming the holder.
final class DirectoryLockTests: HardeningTestCase {
    /// Runs `first`, and while it trains (at its first step) runs `second`, returning `second`'s error.
    func secondRunError(_ first: [String], _ second: [String]) throws -> String {
        var secondError = ""
        var started = false
        let command = TrainCommand(options: try TrainOptions.parse(first), print: { line in
            guard line.hasPrefix("Rank[0], Step 1,"), !started else { return }
            started = true
            do { try self.train(second) } catch { secondError = "\(error)" }
        }, printError: { _ in })
        try command.run()
        XCTAssertTrue(started)
        return secondError
    }

    func testASecondRunOnTheSameCheckpointDirectoryIsRefusedNamingThePid() throws {
        let root = try temporaryDirectory()
        let text = try secondRunError(small + ["--train_batches", "3", "--checkpoint", root + "/ck", "--output_dir", root + "/a"],
                                      small + ["--train_batches", "3", "--checkpoint", root + "/ck", "--output_dir", root + "/b"])
        XCTAssertTrue(text.contains("--checkpoint") && text.contains("pid \(getpid())"), text)
    }

    func testASecondRunOnTheSameOutputDirectoryIsRefused() throws {
        let root = try temporaryDirectory()
        let text = try secondRunError(small + ["--train_batches", "3", "--output_dir", root + "/a"],
                                      small + ["--train_batches", "3", "--output_dir", root + "/a"])
        XCTAssertTrue(text.contains("--output_dir") && text.contains("pid \(getpid())"), text)
    }

    func testASecondRunOnTheSameHostMemStoreIsRefused() throws {
        let census = try PredictFixture.censusDirectory(self)
        let root = try temporaryDirectory()
        let args = ["--data_dir", census, "--store_type", "cached_host_mem", "--persistent_path", root + "/kv", "--train_batches", "3",
                    "--batch_size", "16", "--expert_dnn", "8", "--embedding_vec_size", "4", "--threads", "1", "--loss_print_interval", "1"]
        let text = try secondRunError(args + ["--output_dir", root + "/a"], args + ["--output_dir", root + "/b"])
        XCTAssertTrue(text.contains(root + "/kv") && text.contains("pid \(getpid())"), text)
    }

    /// Defect 10: the second run must not delete the owner's scratch files before finding the lock.
    func testASecondRunOnACachedSSDStoreLeavesTheOwnersScratchAlone() throws {
        let census = try PredictFixture.censusDirectory(self)
        let root = try temporaryDirectory()
        let store = root + "/kv"
        let args = ["--data_dir", census, "--store_type", "cached_ssd", "--persistent_path", store, "--train_batches", "3",
                    "--batch_size", "16", "--expert_dnn", "8", "--embedding_vec_size", "4", "--threads", "1", "--loss_print_interval", "1"]
        var secondError = ""
        var scratchSurvived = false
        var started = false
        let command = TrainCommand(options: try TrainOptions.parse(args + ["--output_dir", root + "/a"]), print: { line in
            guard line.hasPrefix("Rank[0], Step 1,"), !started else { return }
            started = true
            // Stands for the owner's commit in progress.
            FileManager.default.createFile(atPath: store + "/commit.wal.partial", contents: Data("in progress".utf8))
            do { try self.train(args + ["--output_dir", root + "/b"]) } catch { secondError = "\(error)" }
            scratchSurvived = FileManager.default.fileExists(atPath: store + "/commit.wal.partial")
            try? FileManager.default.removeItem(atPath: store + "/commit.wal.partial")
        }, printError: { _ in })
        try command.run()
        XCTAssertTrue(scratchSurvived, "the refused run deleted the owner's commit.wal.partial")
        XCTAssertTrue(secondError.contains("pid \(getpid())"), secondError)
    }
}

/// Defect 3: sizes beyond the machine's memory (or Int's range) are refused before allocation.
final class SizeBoundTests: HardeningTestCase {
    func testHugeSizesAreRefusedWithTheMemoryTheyNeed() throws {
        let out = try temporaryDirectory()
        let huge = "9223372036854775807"
        // The cases, on the default network ([256, 128] experts): each needs hundreds of GB or more.
        let base = ["--num_train_samples", "256", "--num_test_samples", "40", "--threads", "1", "--train_batches", "1", "--no_eval", "--output_dir", out]
        for flags in [["--batch_size", huge], ["--num_experts", huge], ["--num_experts", "100000"], ["--expert_dnn", "100000,100000"],
                      ["--tower_dnn", "100000000"], ["--model", "ple", "--ple_levels", "100000"]] {
            let text = errorText { try self.train(base + flags) }
            XCTAssertTrue(text.contains("this machine has"), "\(flags): \(text)")
        }
    }

    func testATableBeyondMemoryIsRefusedOnCensus() throws {
        let census = try PredictFixture.censusDirectory(self)
        let out = try temporaryDirectory()
        let sizes = Array(repeating: "70000000", count: CensusTaskGroup.incomeMarital.sparseNames.count).joined(separator: ",")
        for flags in [["--table_size_array", sizes], ["--embedding_vec_size", "9223372036854775807"], ["--embedding_vec_size", "100000000"]] {
            let text = errorText { try self.train(["--data_dir", census, "--train_batches", "1", "--output_dir", out] + flags) }
            XCTAssertTrue(text.contains("this machine has"), "\(flags): \(text)")
        }
    }

    func testInterIsCappedAtTheBatchRows() throws {
        let r = try train(small + ["--train_batches", "1", "--no_eval", "--inter", "9223372036854775807", "--output_dir", try temporaryDirectory()])
        XCTAssertEqual(r.summary.steps, 1)
        XCTAssertTrue(r.err.contains { $0.contains("--inter") && $0.contains("64 shards") }, "\(r.err)")
    }

    /// What `mmoe-predict` builds from a checkpoint's manifest passes the same check.
    func testANetworkBeyondMemoryIsRefusedBeforeItIsBuilt() {
        // 256 x 1e8 tower weights per task: 51 billion parameters.
        var config = MMoEConfig(denseWidth: 10, fieldRows: [4], embeddingDim: 2, expertDNN: [256], towerDNN: [100_000_000])
        XCTAssertThrowsError(try MMoEModel(config, seed: 1)) { XCTAssertTrue("\($0)".contains("this machine has"), "\($0)") }
        config = MMoEConfig(denseWidth: 10, fieldRows: [Int.max / 2, Int.max / 2], embeddingDim: 2, expertDNN: [8])
        XCTAssertThrowsError(try MMoEModel(config, seed: 1)) { XCTAssertTrue("\($0)".contains("past Int's range"), "\($0)") }
    }
}

/// Defect 12: the smaller ones.
final class SmallDefectTests: HardeningTestCase {
    func testAnOverflowingCacheBudgetIsRefused() throws {
        let census = try PredictFixture.censusDirectory(self)
        let root = try temporaryDirectory()
        let text = errorText {
            try self.train(["--data_dir", census, "--store_type", "cached_ssd", "--persistent_path", root + "/kv", "--cache_memory_budget_mb",
                            "9223372036854775807", "--train_batches", "1", "--output_dir", root + "/out"])
        }
        XCTAssertTrue(text.contains("--cache_memory_budget_mb 9223372036854775807"), text)
    }

    func testPredictOnADirectoryInputSaysSo() throws {
        let data = try PredictFixture.censusDirectory(self, testRows: 5)
        let (checkpoint, _) = try PredictFixture.train(self, data: data)
        let text = PredictFixture.error { _ = try PredictFixture.predict(["--model_load_dir", checkpoint, "--input", data]) }
        XCTAssertTrue(text.contains("is a directory"), text)
    }

    func testPredictRefusesAModelWithNonFiniteWeights() throws {
        let data = try PredictFixture.censusDirectory(self, testRows: 5)
        let (checkpoint, _) = try PredictFixture.train(self, data: data)
        let (model, _) = try CheckpointManifest.loadModel(from: checkpoint)
        var metadata = try ModelCheckpoint.metadata(in: checkpoint)
        metadata["checksum"] = nil
        let p = model.parameters.parameters.first { $0.name.hasSuffix(".weight") }!
        var scalars = p.value.scalars
        scalars[0] = .nan
        p.value.assign(Tensor(shape: p.shape, scalars: scalars))
        try ModelCheckpoint.save(model, to: checkpoint, metadata: metadata)
        let text = PredictFixture.error { _ = try PredictFixture.predict(["--model_load_dir", checkpoint, "--input", data + "/census-income.test"]) }
        XCTAssertTrue(text.contains("not all finite"), text)
    }

    func testResumingWithAnotherMicroBatchIsNoted() throws {
        let root = try temporaryDirectory()
        let common = small + ["--no_eval", "--checkpoint", root + "/ck", "--output_dir", root + "/out"]
        try train(common + ["--train_batches", "2", "--micro_batch", "2"])
        let resumed = try train(common + ["--train_batches", "4"])
        XCTAssertTrue(resumed.err.contains { $0.contains("--micro_batch 2") }, "\(resumed.err)")
    }
}
