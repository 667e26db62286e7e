import XCTest
import Foundation
import Datasets
@testable import MMoE

/// `mmoe-train` with task weights, condition tasks, a validation set and early stopping: what it
/// prints and writes, and the flag combinations it refuses.
extension TrainCommandTests {
    /// The weights of a saved model, by tensor name.
    func savedWeights(_ directory: String) throws -> [String: [UInt32]] {
        let file = try IndependentSafeTensorsReader(path: directory + "/" + ModelCheckpoint.fileName)
        return file.tensors.mapValues { $0.floats.map(\.bitPattern) }
    }

    func metricsRecords(_ directory: String) throws -> [[String: Any]] {
        try String(contentsOfFile: directory + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    /// --valid_fraction on the synthetic data: validation evaluations, the winner named in the log
    /// and summary.json, the test set scored once, and --model_save_dir holding the winner's weights.
    func testValidFractionKeepsTheBestEvaluationsModel() throws {
        let root = try temporaryDirectory()
        let r = try run(["--num_train_samples", "1200", "--num_test_samples", "300", "--valid_fraction", "0.25", "--batch_size", "100",
                         "--train_batches", "50", "--expert_dnn", "16", "--loss_print_interval", "100", "--threads", "1",
                         "--save_model_after_each_eval", "--output_dir", root + "/out", "--model_save_dir", root + "/models"])
        let model = try XCTUnwrap(r.out.first { $0.hasPrefix("Model: ") })
        let counts = try NSRegularExpression(pattern: #"(\d+) train / (\d+) valid / 300 test rows"#)
        let match = try XCTUnwrap(counts.firstMatch(in: model, range: NSRange(model.startIndex..., in: model)), model)
        let train = Int((model as NSString).substring(with: match.range(at: 1)))!, valid = Int((model as NSString).substring(with: match.range(at: 2)))!
        XCTAssertEqual(train + valid, 1200)
        XCTAssertEqual(Double(valid) / 1200, 0.25, accuracy: 0.05)
        let validLines = r.out.filter { $0.hasPrefix("Rank[0], Valid, Epoch ") }
        // One at each epoch boundary, and one after the last step unless it is a boundary.
        let epochSteps = (train + 99) / 100, evaluations = 50 / epochSteps + (50 % epochSteps == 0 ? 0 : 1)
        XCTAssertEqual(validLines.count, evaluations, "\(validLines)")
        XCTAssertTrue(validLines.allSatisfy { $0.contains("Eval_samples \(valid), ") })
        let selection = try XCTUnwrap(r.out.first { $0.hasPrefix("Model selection: validation evaluation ") })
        let summary = try readJSON(root + "/out/summary.json")
        let chosen = try XCTUnwrap(summary["model_selection"] as? [String: Any])
        let bestStep = try XCTUnwrap(chosen["best_step"] as? Int)
        XCTAssertTrue(selection.contains("step \(bestStep))"), selection)
        XCTAssertEqual(chosen["metric"] as? String, "auc_mean")
        // metrics.jsonl: the validation evaluations, then one on the test set.
        let evals = try metricsRecords(root + "/out").filter { $0["type"] as? String == "eval" }
        XCTAssertEqual(evals.map { $0["split"] as? String }, Array(repeating: "valid", count: evaluations) + ["test"])
        XCTAssertEqual(evals.last?["step"] as? Int, bestStep)
        XCTAssertEqual(evals.last?["samples"] as? Int, 300)
        // The saved model is the winner's: the same weights as the save after that evaluation.
        let saved = try FileManager.default.contentsOfDirectory(atPath: root + "/models")
        let atBest = try XCTUnwrap(saved.first { $0.hasPrefix("step_\(bestStep)_val_auc_") }, "\(saved)")
        XCTAssertEqual(saved.filter { $0.hasPrefix("step_") }.count, evaluations, "\(saved)")
        XCTAssertEqual(try savedWeights(root + "/models/final_checkpoint"), try savedWeights(root + "/models/" + atBest))
        XCTAssertEqual(r.summary.finalEvaluation?.split, .test)
    }

    /// Taobao with CVR conditioned on CTR, weighted, and a held-out fraction of the streamed file.
    func testTaobaoConditionedTaskAndStreamedValidFraction() throws {
        let data = try PredictFixture.taobaoDirectory(self, trainRows: 300, testRows: 120)
        let root = try temporaryDirectory()
        let r = try run(["--data_dir", data, "--embedding_vec_size", "2", "--expert_dnn", "8", "--tower_dnn", "4", "--batch_size", "50",
                         "--steps", "12", "--threads", "1", "--task_conditions", "-, ctr", "--task_weights", "1, 0.5",
                         "--valid_fraction", "0.2", "--output_dir", root + "/out"])
        let model = try XCTUnwrap(r.out.first { $0.hasPrefix("Model: ") })
        let counts = try NSRegularExpression(pattern: #"(\d+) train / (\d+) valid / 120 test rows"#)
        let match = try XCTUnwrap(counts.firstMatch(in: model, range: NSRange(model.startIndex..., in: model)), model)
        let train = Int((model as NSString).substring(with: match.range(at: 1)))!, valid = Int((model as NSString).substring(with: match.range(at: 2)))!
        XCTAssertEqual(train + valid, 300)
        XCTAssertGreaterThan(valid, 0)
        // The rows trained on are the kept ones: 12 steps over `train` rows.
        let epochSteps = (train + 49) / 50
        XCTAssertEqual(r.summary.trainSamples, (12 / epochSteps) * train + (12 % epochSteps) * 50)
        let test = try Taobao.load(path: data + "/" + Taobao.testFileName)
        let clicked = (0..<test.count).filter { test.labels[$0 * 2] == 1 }.count
        XCTAssertGreaterThan(clicked, 0)
        XCTAssertLessThan(clicked, test.count)
        let testLine = try XCTUnwrap(r.out.last { $0.hasPrefix("Rank[0], Epoch ") })
        XCTAssertTrue(testLine.contains("Eval_samples 120, Eval_samples_ctr 120, Eval_samples_cvr \(clicked), "), testLine)
        let rows = try XCTUnwrap(r.out.first { $0.hasPrefix("Task rows: ") })
        XCTAssertTrue(rows.contains("cvr (weight 0.5, on ctr = 1) trained on "), rows)
        let summary = try readJSON(root + "/out/summary.json")
        let taskRows = try XCTUnwrap(summary["task_rows"] as? [String: [String: Int]])
        XCTAssertEqual(taskRows["eval"], ["ctr": 120, "cvr": clicked])
        XCTAssertEqual(taskRows["train"]?["ctr"], r.summary.trainSamples)
        XCTAssertLessThan(taskRows["train"]!["cvr"]!, r.summary.trainSamples)
    }

    /// --valid_files in Census's raw format, encoded with the training split's encoder.
    func testCensusValidFiles() throws {
        let data = try censusDirectory(trainRows: 60, testRows: 20)
        let valid = try censusDirectory(trainRows: 30, testRows: 1)
        let out = try temporaryDirectory() + "/out"
        let r = try run(["--data_dir", data, "--valid_files", valid + "/census-income.data", "--batch_size", "20", "--train_batches", "6",
                         "--embedding_vec_size", "2", "--expert_dnn", "8", "--early_stopping_metric", "auc:income", "--output_dir", out])
        XCTAssertTrue(r.out.contains { $0.contains("60 train / 30 valid / 20 test rows") })
        XCTAssertEqual(r.out.filter { $0.hasPrefix("Rank[0], Valid, ") && $0.contains("Eval_samples 30, ") }.count, 2)
        XCTAssertTrue(r.out.contains { $0.hasPrefix("Model selection: ") && $0.contains("best auc:income ") })
    }

    /// --valid_files for OneFlow's Census Parquet layout: a folder of part files, read as the test split is.
    func testCensusParquetValidFiles() throws {
        let data = CensusParquetTrainingTests.dataDirectory
        guard let files = CensusParquet.files(in: data) else { throw XCTSkip("no Census Parquet at \(data)") }
        let out = try temporaryDirectory() + "/out"
        let r = try run(["--data_dir", data, "--valid_files", data + "/test", "--num_train_samples", "1000", "--num_test_samples", "200",
                         "--batch_size", "500", "--train_batches", "2", "--embedding_vec_size", "2", "--expert_dnn", "8", "--output_dir", out])
        let rows = try files.test.reduce(0) { $0 + (try ParquetFile(path: $1)).rowCount }
        XCTAssertTrue(r.out.contains { $0.contains("1000 train / \(rows) valid / 200 test rows") }, "\(r.out.filter { $0.hasPrefix("Model") })")
        XCTAssertEqual(r.out.filter { $0.hasPrefix("Rank[0], Valid, ") && $0.contains("Eval_samples \(rows), ") }.count, 1)
    }

    /// Without a validation set nothing is selected, and the log and summary are as they were.
    func testNoValidationSetNoSelection() throws {
        let out = try temporaryDirectory() + "/out"
        let r = try run(["--num_train_samples", "400", "--num_test_samples", "100", "--batch_size", "100", "--train_batches", "4",
                         "--expert_dnn", "8", "--output_dir", out])
        XCTAssertFalse(r.out.contains { $0.contains("Valid") || $0.hasPrefix("Model selection") || $0.hasPrefix("Task rows") })
        XCTAssertNil(try readJSON(out + "/summary.json")["model_selection"])
    }

    func testTaskAndValidationFlagErrors() throws {
        let root = try temporaryDirectory()
        let out = root + "/out"
        let census = try censusDirectory()
        let cases: [([String], String)] = [
            (["--task_weights", "1, 0.5, 2"], "--task_weights has 3 entries for 2 tasks (task1, task2); give one per task"),
            (["--task_weights", "0, 0"], "--task_weights: every weight is 0"),
            (["--task_conditions", "-, nope"], "--task_conditions: task task2's condition \"nope\" is not a task"),
            (["--task_conditions", "task1, -, -"], "--task_conditions has 3 entries for 2 tasks"),
            (["--task_conditions", "task1, -"], "--task_conditions: task task1 cannot be conditioned on itself"),
            (["--task_types", "regression, binary", "--task_conditions", "-, task1"], "task task2 is conditioned on task1, which is a regression task"),
            (["--early_stopping_patience", "3"], "--early_stopping_patience needs a validation set"),
            (["--early_stopping_metric", "loss"], "--early_stopping_metric needs a validation set"),
            (["--valid_fraction", "0.1", "--valid_files", census + "/census-income.test"], "--valid_fraction and --valid_files both give a validation set"),
            (["--valid_fraction", "0.1", "--no_eval"], "--valid_fraction evaluates during training, which --no_eval turns off"),
            (["--valid_fraction", "0.1", "--checkpoint", root + "/ck"], "--checkpoint cannot resume"),
            (["--valid_fraction", "0.1", "--data_dir", census, "--ev"], "it cannot be combined with --ev"),
            (["--valid_files", census + "/census-income.test"], "--valid_files: the built-in synthetic data has no files"),
            (["--valid_fraction", "0.1", "--early_stopping_metric", "auc:nope"], "--early_stopping_metric auc:nope: no task nope (the tasks are task1, task2)"),
            (["--valid_fraction", "0.1", "--task_types", "regression, regression"], "--early_stopping_metric auc_mean needs a binary task"),
            (["--valid_fraction", "0.0001", "--num_train_samples", "50"], "--valid_fraction 0.0001 held out none of the 50 training rows"),
            (["--data_dir", census, "--valid_files", root + "/missing.data"], root + "/missing.data"),
        ]
        for (arguments, expected) in cases {
            // Small synthetic splits: the checks after loading need not generate 120,000 rows.
            XCTAssertThrowsError(try run(["--num_train_samples", "200", "--num_test_samples", "50"] + arguments + ["--output_dir", out, "--train_batches", "1"]), "\(arguments)") {
                XCTAssertTrue("\($0)".contains(expected), "\(arguments): \($0)")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(arguments) created the output directory")
        }
        let parse: [([String], String)] = [
            (["--task_weights", "1, x"], "--task_weights: entry \"x\" in \"1, x\" is not a finite number >= 0"),
            (["--task_weights", "1, -1"], "entry \"-1\" in \"1, -1\" is not a finite number >= 0"),
            (["--task_conditions", "-,"], "--task_conditions: entry 2 of \"-,\" is empty; write - for a task without a condition"),
            (["--valid_fraction", "1"], "--valid_fraction: 1 is out of range, must be in (0, 1)"),
            (["--valid_files", "a,,b"], "--valid_files: \"a,,b\" has an empty path between commas"),
            (["--early_stopping_patience", "-1"], "--early_stopping_patience: -1 is out of range"),
            (["--early_stopping_metric", "auc"], "--early_stopping_metric: \"auc\" is not auc_mean, auc:<task> or loss"),
        ]
        for (arguments, expected) in parse {
            XCTAssertThrowsError(try TrainOptions.parse(arguments), "\(arguments)") {
                XCTAssertTrue("\($0)".contains(expected), "\(arguments): \($0)")
            }
        }
        let o = try TrainOptions.parse(["--task_weights", "[1, 0.5]", "--task_conditions", "-, ctr", "--valid_files", "a.csv, b.csv",
                                        "--early_stopping_metric", "auc:ctr"])
        XCTAssertEqual(o.taskWeights, [1, 0.5])
        XCTAssertEqual(o.taskConditions, ["-", "ctr"])
        XCTAssertEqual(o.validFiles, ["a.csv", "b.csv"])
        XCTAssertEqual(o.earlyStoppingMetric, .auc(task: "ctr"))
    }
}
