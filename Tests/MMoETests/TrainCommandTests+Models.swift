import XCTest
import Foundation
import Datasets
@testable import MMoE

/// `--model`, `--task_types` and the `--synthetic_*` flags through the command: what each run
/// prints and writes, and what is refused.
extension TrainCommandTests {
    /// `--expert_relu_on_last` puts a ReLU after the experts' (and a bottom's) last layer: the same
    /// weights then give other losses; Taobao's default is on (DeepRec's experts), the others' off.
    func testExpertReluOnLastChangesTheNetwork() throws {
        func summaryLoss(_ extra: [String]) throws -> [String: Double] {
            let out = try temporaryDirectory() + "/result"
            _ = try run(["--task_types", "regression,regression", "--synthetic_dim", "12", "--num_train_samples", "256",
                         "--num_test_samples", "100", "--tower_dnn", "4", "--batch_size", "64",
                         "--train_batches", "4", "--output_dir", out, "--threads", "1"] + extra)
            return try XCTUnwrap((try readJSON(out + "/summary.json")["eval"] as? [String: Any])?["loss"] as? [String: Double])
        }
        let linear = try summaryLoss(["--expert_dnn", "8"]), relu = try summaryLoss(["--expert_dnn", "8", "--expert_relu_on_last"])
        XCTAssertEqual(linear, try summaryLoss(["--expert_dnn", "8", "--expert_relu_on_last", "False"]))
        XCTAssertNotEqual(linear, relu)
        XCTAssertNotEqual(try summaryLoss(["--model", "shared_bottom", "--bottom_dnn", "8"]),
                          try summaryLoss(["--model", "shared_bottom", "--bottom_dnn", "8", "--expert_relu_on_last"]))
        XCTAssertTrue(TrainOptions().resolved(for: .taobao).expertReluOnLast)
        XCTAssertFalse(TrainOptions().resolved(for: .census).expertReluOnLast)
        XCTAssertFalse(try TrainOptions.parse(["--expert_relu_on_last", "False"]).resolved(for: .taobao).expertReluOnLast)
    }

    /// Regression tasks on the synthetic data: MSE in the step and evaluation lines, `loss` in
    /// every eval record and in the summary, AUC and accuracy null.
    func testRegressionRunWritesTestLosses() throws {
        let out = try temporaryDirectory() + "/result"
        let r = try run(["--task_types", "regression,regression", "--synthetic_dim", "12", "--synthetic_noise", "0.2",
                         "--num_train_samples", "256", "--num_test_samples", "100", "--expert_dnn", "8", "--tower_dnn", "4",
                         "--batch_size", "64", "--train_batches", "8", "--loss_print_interval", "2", "--output_dir", out, "--threads", "1"])
        XCTAssertTrue(r.out.contains { $0.hasPrefix("Model: mmoe,") && $0.contains("input 12 (0 fields x 16 + 12 dense)") })
        let evalLines = r.out.filter { $0.hasPrefix("Rank[0], Epoch") }
        XCTAssertEqual(evalLines.count, 2)
        for line in evalLines {
            XCTAssertTrue(line.contains("MSE_task1 ") && line.contains("MSE_task2 "), line)
            XCTAssertFalse(line.contains("AUC") || line.contains("Accuracy") || line.contains("Loss_"), line)
        }
        XCTAssertTrue(r.out.last!.contains("test MSE task1 "), r.out.last!)
        let records = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        let steps = records.filter { $0["type"] as? String == "train" }, evals = records.filter { $0["type"] as? String == "eval" }
        XCTAssertEqual(steps.count, 4)
        XCTAssertEqual(evals.count, 2)
        for e in evals {
            let loss = try XCTUnwrap(e["loss"] as? [String: Double])
            XCTAssertEqual(Set(loss.keys), ["task1", "task2"])
            XCTAssertTrue(loss.values.allSatisfy { $0.isFinite && $0 > 0 })
            XCTAssertTrue((e["auc"] as! [String: Any]).values.allSatisfy { $0 is NSNull })
            XCTAssertTrue((e["accuracy"] as! [String: Any]).values.allSatisfy { $0 is NSNull })
        }
        let eval = try XCTUnwrap(try readJSON(out + "/summary.json")["eval"] as? [String: Any])
        XCTAssertEqual(eval["loss"] as? [String: Double], evals.last!["loss"] as? [String: Double])
        // The step records' loss is the batch MSE: positive and finite.
        for s in steps { XCTAssertTrue((s["loss"] as! [String: Double]).values.allSatisfy { $0.isFinite && $0 > 0 }) }
    }

    /// Binary tasks keep their metrics, and `loss` is their log loss.
    func testBinaryEvalRecordsCarryLogLossAsLoss() throws {
        let out = try temporaryDirectory() + "/result"
        _ = try run(["--num_train_samples", "128", "--num_test_samples", "64", "--synthetic_dim", "6", "--expert_dnn", "4",
                     "--batch_size", "64", "--train_batches", "2", "--output_dir", out, "--threads", "1"])
        let eval = try XCTUnwrap(try readJSON(out + "/summary.json")["eval"] as? [String: Any])
        XCTAssertEqual(eval["loss"] as? [String: Double], eval["logloss"] as? [String: Double])
        XCTAssertEqual((eval["auc"] as? [String: Double])?.count, 2)
    }

    /// Each kind runs, and its "Model:" line counts the parameters of the network it built.
    func testEveryModelKindRunsAndCountsItsParameters() throws {
        let kinds: [(ModelKind, [String])] = [
            (.mmoe, []), (.omoe, []), (.sharedBottom, ["--bottom_dnn", "9"]), (.singleTask, []), (.simpleMultitask, []),
            (.ple, ["--task_experts", "2", "--shared_experts", "1", "--ple_levels", "2"]),
        ]
        for (kind, flags) in kinds {
            let out = try temporaryDirectory()
            // simple_multitask has no experts; shared_bottom is sized by --bottom_dnn alone.
            let expertFlags = kind == .simpleMultitask || kind == .sharedBottom ? [] : ["--expert_dnn", "6"]
            let r = try run(["--model", kind.rawValue, "--num_train_samples", "64", "--num_test_samples", "32", "--synthetic_dim", "5",
                             "--tower_dnn", "3", "--train_batches", "2", "--batch_size", "32", "--output_dir", out, "--threads", "1"]
                            + expertFlags + flags)
            var c = MMoEConfig(denseWidth: 5, fieldRows: [], embeddingDim: 16, numExperts: 3, numTasks: 2, expertDNN: expertFlags.isEmpty ? [256, 128] : [6],
                               towerDNN: [3])
            c.kind = kind
            if kind == .sharedBottom { c.bottomDNN = [9] }
            if kind == .ple { c.taskExperts = 2; c.sharedExperts = 1; c.pleLevels = 2 }
            let count = try MMoEModel(c, seed: 1).parameterCount
            let line = try XCTUnwrap(r.out.first { $0.hasPrefix("Model: \(kind.rawValue),") }, kind.rawValue)
            XCTAssertTrue(line.contains(", \(count) parameters;"), "\(kind.rawValue): expected \(count) in \(line)")
            XCTAssertEqual(try readJSON(out + "/summary.json")["model"] as? String, kind.rawValue)
        }
    }

    /// Flags that cannot act on the chosen model or data, refused with nothing written.
    func testModelAndDataFlagRefusals() throws {
        let data = try censusDirectory()
        let out = try temporaryDirectory() + "/never"
        let cases: [([String], String)] = [
            (["--ple_levels", "3"], "--ple_levels sizes PLE's experts; it does not apply to --model mmoe"),
            (["--model", "omoe", "--shared_experts", "2"], "--shared_experts sizes PLE's experts; it does not apply to --model omoe"),
            (["--bottom_dnn", "8"], "--bottom_dnn sizes the bottom MLP of shared_bottom and single_task; --model mmoe has none"),
            (["--model", "shared_bottom", "--num_experts", "4"], "--num_experts sizes the expert bank of mmoe and omoe; --model shared_bottom has none"),
            (["--model", "ple", "--num_experts", "4"], "ple counts its experts with --task_experts and --shared_experts"),
            (["--model", "single_task", "--gate_dnn", "4"], "--gate_dnn sizes the gates of mmoe, omoe and ple; --model single_task has none"),
            (["--model", "single_task", "--expert_dnn", "4", "--bottom_dnn", "4"], "--expert_dnn only gives the default of --bottom_dnn"),
            (["--model", "simple_multitask", "--expert_dnn", "4"], "--expert_dnn sizes experts; --model simple_multitask has none"),
            (["--task_types", "regression"], "--task_types has 1 entries for 2 tasks"),
            (["--task_types", "binary,ordinal"], "--task_types: entry \"ordinal\" in \"binary,ordinal\" is not one of binary, regression"),
            (["--data_dir", data, "--task_types", "binary,regression"],
             "--task_types: task 2 is regression, but the census labels are binary (0/1); regression tasks need the synthetic data"),
            (["--data_dir", data, "--synthetic_noise", "0.3"], "--synthetic_noise shapes the built-in synthetic data; it does not apply to the census data"),
            (["--synthetic_dim", "1"], "--synthetic_dim: 1 is out of range, must be >= 2"),
        ]
        for (arguments, expected) in cases {
            XCTAssertThrowsError(try run(arguments + ["--output_dir", out, "--train_batches", "1"]), "\(arguments)") {
                XCTAssertTrue("\($0)".contains(expected), "\(arguments): \($0)")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(arguments) created the output directory")
        }
    }
}
