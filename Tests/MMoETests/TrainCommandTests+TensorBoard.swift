import XCTest
import Foundation
import Datasets
@testable import MMoE

/// What a run writes for TensorBoard, and the progress at the end of its step lines.
extension TrainCommandTests {
    static let smallSynthetic = ["--num_train_samples", "512", "--num_test_samples", "200", "--expert_dnn", "16, 8", "--batch_size", "64",
                                 "--train_batches", "20", "--loss_print_interval", "5", "--threads", "1"]

    /// Runs Scripts/check_tensorboard.py (TensorBoard's own reader) on `dir` when the package is
    /// importable; returns false when it is not.
    func checkWithTensorBoard(_ dir: String, expect: [String]) throws -> Bool {
        guard PythonScripts.canImport("tensorboard") else { return false }
        let r = try PythonScripts.run([PythonScripts.path("check_tensorboard.py"), dir, "--expect"] + expect)
        XCTAssertEqual(r.status, 0, r.output)
        for tag in expect { XCTAssertTrue(r.output.contains(tag + "\t"), r.output) }
        return true
    }

    func testTensorBoardEventsOfASyntheticRun() throws {
        let out = try temporaryDirectory() + "/result"
        // A file a previous run left is removed: the directory shows this run, as metrics.jsonl does.
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: out + "/events.out.tfevents.1.old", contents: Data([1, 2, 3])))
        let r = try run(Self.smallSynthetic + ["--output_dir", out])
        let (path, events) = try TensorBoardTests.events(in: out)
        XCTAssertEqual(events.first?.fileVersion, "brain.Event:2")
        XCTAssertEqual(events[1].plugins["flags"], "text")
        XCTAssertTrue(events[1].texts["flags"]?.contains("| train_batches | 20 |") == true, events[1].texts["flags"] ?? "no flags")
        XCTAssertEqual(events.last?.texts["summary"], r.out.last)
        XCTAssertGreaterThan(events.last!.wallTime, events.first!.wallTime - 1)

        func steps(_ tag: String) -> [Int] { events.filter { $0.scalars[tag] != nil }.map(\.step) }
        // Reports every 5 steps; evaluations at the epoch boundaries (512 / 64 = 8 steps) and at the end.
        for tag in ["train/loss/task1", "train/loss/task2", "train/learning_rate", "train/samples_per_sec"] {
            XCTAssertEqual(steps(tag), [5, 10, 15, 20], tag)
        }
        for tag in ["test/auc/task1", "test/logloss/task2", "test/accuracy/task1", "test/auc_pooled", "gates/task2/expert_2"] {
            XCTAssertEqual(steps(tag), [8, 16, 20], tag)
        }
        XCTAssertTrue(events.allSatisfy { $0.scalars.values.allSatisfy(\.isFinite) })
        XCTAssertFalse(events.contains { $0.scalars["train/loss_scale"] != nil }, "no loss scale without --amp")
        // The values are the run's: the same as metrics.jsonl's, and each gate's weights sum to 1.
        let records = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        for record in records {
            let step = record["step"] as! Int
            let event = try XCTUnwrap(events.first { $0.step == step && $0.scalars[record["type"] as! String == "train" ? "train/loss/task1" : "test/auc/task1"] != nil })
            if record["type"] as! String == "train" {
                XCTAssertEqual(event.scalars["train/loss/task1"], Float((record["loss"] as! [String: Double])["task1"]!))
            } else {
                XCTAssertEqual(event.scalars["test/auc/task2"], Float((record["auc"] as! [String: Double])["task2"]!))
                for task in ["task1", "task2"] {
                    let sum = (0..<3).reduce(Float(0)) { $0 + event.scalars["gates/\(task)/expert_\($1)"]! }
                    XCTAssertEqual(sum, 1, accuracy: 1e-4)
                }
            }
        }
        // TensorBoard's own reader, when installed (the records above were decoded and CRC-checked here).
        if try !checkWithTensorBoard(out, expect: ["gates/task1/expert_0", "test/auc_pooled"]) { print("note: tensorboard not importable; \(path) checked by the Swift decoder only") }
        let flags = try readJSON(out + "/flags.json")
        XCTAssertEqual(flags["train_batches"] as? String, "20")
    }

    func testTensorBoardUnderAmpWithARegressionTask() throws {
        let out = try temporaryDirectory()
        _ = try run(Self.smallSynthetic + ["--output_dir", out, "--amp", "--task_types", "regression,binary"])
        let events = try TensorBoardTests.events(in: out).events
        XCTAssertEqual(events.filter { $0.scalars["train/loss_scale"] != nil }.map(\.step), [5, 10, 15, 20])
        XCTAssertEqual(events.filter { $0.scalars["test/mse/task1"] != nil }.map(\.step), [8, 16, 20])
        XCTAssertFalse(events.contains { $0.scalars["test/auc/task1"] != nil || $0.scalars["test/auc_pooled"] != nil })
        XCTAssertTrue(events.contains { $0.scalars["test/auc/task2"] != nil })
    }

    func testTensorBoardFalseWritesNoEventFile() throws {
        let out = try temporaryDirectory()
        let r = try run(Self.smallSynthetic + ["--output_dir", out, "--tensorboard", "False"])
        let names = try FileManager.default.contentsOfDirectory(atPath: out)
        XCTAssertFalse(names.contains { $0.hasPrefix("events.out.tfevents") }, "\(names)")
        XCTAssertTrue(names.contains("metrics.jsonl"))
        XCTAssertFalse(r.out.contains { $0.contains("tensorboard --logdir") }, "\(r.out.suffix(4))")
        XCTAssertTrue(r.out.contains { $0.contains("mmoe-report run \(out)") }, "\(r.out.suffix(4))")
    }

    func testTensorBoardWithAnEmbeddingStoreHasItsCountsAndNoGates() throws {
        let data = try censusDirectory()
        let out = try temporaryDirectory()
        _ = try run(["--data_dir", data, "--ev", "True", "--expert_dnn", "8", "--batch_size", "16",
                     "--train_batches", "6", "--loss_print_interval", "3", "--output_dir", out])
        let events = try TensorBoardTests.events(in: out).events
        let eval = try XCTUnwrap(events.last { $0.scalars["test/auc/income"] != nil })
        let rows = try XCTUnwrap(eval.scalars["embedding_store/rows"], "\(eval.scalars.keys.sorted())")
        XCTAssertGreaterThan(rows, 0)
        XCTAssertFalse(events.contains { $0.scalars.keys.contains { $0.hasPrefix("gates/") } })
    }

    func testStepLinesEndWithElapsedAndETA() throws {
        let out = try temporaryDirectory()
        let r = try run(Self.smallSynthetic + ["--output_dir", out])
        let stepLines = r.out.filter { $0.hasPrefix("Rank[0], Step ") }
        XCTAssertEqual(stepLines.count, 4)
        let pattern = try NSRegularExpression(pattern: #"^Rank\[0\], Step \d+, Loss_task1 [0-9.]+, Loss_task2 [0-9.]+, Latency [0-9.]+ ms, Throughput [0-9.]+, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d, Elapsed \d+ s, ETA \d+:\d\d$"#)
        for line in stepLines {
            XCTAssertEqual(pattern.numberOfMatches(in: line, range: NSRange(line.startIndex..., in: line)), 1, line)
        }
        XCTAssertTrue(stepLines.last!.hasSuffix("ETA 0:00"), stepLines.last!)
        // What to try next, just before the summary line, which stays the last.
        let next = try XCTUnwrap(r.out.firstIndex(of: "Next:"), "\(r.out)")
        XCTAssertEqual(r.out.count, next + 5, "\(r.out.suffix(6))")
        XCTAssertTrue(r.out[next + 1].contains("--data_dir"), r.out[next + 1])
        XCTAssertTrue(r.out[next + 2].contains("mmoe-report run \(out)"), r.out[next + 2])
        XCTAssertTrue(r.out[next + 3].contains("tensorboard --logdir \(out)"), r.out[next + 3])
        XCTAssertTrue(r.out.last!.hasPrefix("mmoe-train: synthetic, 20 steps"), r.out.last!)
        XCTAssertTrue(r.err.isEmpty, "\(r.err)")
    }

    func testProgressEventsWhenNoReportForAWhile() throws {
        let train = TrainingTests.easyData(rows: 256, seed: 1), test = TrainingTests.easyData(rows: 64, seed: 2)
        let model = try MMoEModel(MMoEConfig(denseWidth: 6, fieldRows: [5, 4], embeddingDim: 4, numExperts: 2, numTasks: 2, expertDNN: [8]), seed: 3)
        var settings = TrainerSettings()
        settings.batchSize = 64
        settings.trainBatches = 6
        settings.lossPrintInterval = 100
        settings.evaluateEachEpoch = false
        var progress: [Int] = []
        settings.progressSeconds = 1e-9
        _ = try Trainer(model: model, train: train, test: test, settings: settings).run { event in
            if case .progress(let step) = event { progress.append(step) }
        }
        XCTAssertEqual(progress, [1, 2, 3, 4, 5, 6])
        // Off by default, and a report resets the clock.
        settings.progressSeconds = 0
        progress = []
        _ = try Trainer(model: try MMoEModel(model.config, seed: 3), train: train, test: test, settings: settings).run { event in
            if case .progress(let step) = event { progress.append(step) }
        }
        XCTAssertEqual(progress, [])
        settings.progressSeconds = 1e-9
        settings.lossPrintInterval = 2
        _ = try Trainer(model: try MMoEModel(model.config, seed: 3), train: train, test: test, settings: settings).run { event in
            if case .progress(let step) = event { progress.append(step) }
        }
        XCTAssertEqual(progress, [1, 3, 5])
        XCTAssertEqual(RunProgress(firstStep: 1, lastStep: 6, start: 0).line(step: 3).prefix(27), "Progress: step 3 of 6, Elap")
    }

    func testSyntheticDataDefaultsToTwoEpochs() throws {
        XCTAssertEqual(try TrainOptions.parse([]).resolved(for: .synthetic).trainBatches, 2 * 391)
        XCTAssertEqual(try TrainOptions.parse(["--num_train_samples", "1000", "--batch_size", "100"]).resolved(for: .synthetic).trainBatches, 20)
        XCTAssertEqual(try TrainOptions.parse(["--num_train_samples", "1000", "--batch_size", "100", "--micro_batch", "4"])
            .resolved(for: .synthetic).trainBatches, 5)
        XCTAssertEqual(try TrainOptions.parse(["--train_batches", "16000"]).resolved(for: .synthetic).trainBatches, 16000)
        XCTAssertEqual(try TrainOptions.parse(["--steps", "7"]).resolved(for: .synthetic).steps, 7)
        // OneFlow's defaults stay for Census.
        XCTAssertEqual(try TrainOptions.parse([]).resolved(for: .census).trainBatches, 16000)
    }

    /// The run a newcomer starts first (`mmoe-train`, no flags) stops before it overfits: each
    /// task's test loss ends below its first evaluation's and within 1% of its best (the old
    /// default, 40 epochs, ended 40% above its best).
    func testDefaultSyntheticRunDoesNotOverfit() throws {
        let out = try temporaryDirectory()
        let r = try run(["--output_dir", out])
        XCTAssertEqual(r.summary.steps, 2 * 391)
        let evals = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            .filter { $0["type"] as? String == "eval" }
        XCTAssertEqual(evals.map { $0["step"] as! Int }, [391, 782])
        for task in ["task1", "task2"] {
            let losses = evals.map { ($0["loss"] as! [String: Double])[task]! }
            XCTAssertLessThan(losses.last!, losses.first!, "\(task): test loss per epoch \(losses)")
            XCTAssertLessThanOrEqual(losses.last!, 1.01 * losses.min()!, "\(task): test loss per epoch \(losses)")
        }
        XCTAssertGreaterThan(r.summary.finalEvaluation!.auc.min()!, 0.98)
    }
}
