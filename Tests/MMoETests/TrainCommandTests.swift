import XCTest
import Foundation
import Datasets
@testable import MMoE

/// `mmoe-train` behind its argument parser: the files it writes, and every way it refuses to run
/// (with nothing written).
final class TrainCommandTests: XCTestCase {
    func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmoe-train-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    /// A small Census-format directory: rows varied from one real row in age, education, marital
    /// status and income.
    func censusDirectory(trainRows: Int = 60, testRows: Int = 20) throws -> String {
        let base = "65, Not in universe, 0, 0, High school graduate, 0, Not in universe, Married-civilian spouse present, Not in universe or children, Not in universe, White, All other, Male, Not in universe, Not in universe, Not in labor force, 0, 0, 0, Joint one under 65 & one 65+, Not in universe, Not in universe, Spouse of householder, Spouse of householder, 2259.6, ?, ?, ?, Not in universe under 1 year old, ?, 0, Not in universe, United-States, United-States, United-States, Native- Born in the United States, 0, Not in universe, 2, 0, 95, - 50000"
        func rows(_ n: Int, seed: Int) -> String {
            (0..<n).map { i -> String in
                var f = base.components(separatedBy: ", ")
                let k = i * 7 + seed
                f[0] = "\(18 + k % 60)"
                f[4] = ["High school graduate", "Bachelors degree(BA AB BS)", "Children", "Masters degree(MA MS MEng MEd MSW MBA)"][k % 4]
                f[7] = k % 3 == 0 ? "Never married" : "Married-civilian spouse present"
                f[41] = k % 5 == 0 ? "50000+" : "- 50000"
                return f.joined(separator: ", ") + "."
            }.joined(separator: "\n") + "\n"
        }
        let dir = try temporaryDirectory()
        try rows(trainRows, seed: 0).write(toFile: dir + "/census-income.data", atomically: true, encoding: .utf8)
        try rows(testRows, seed: 3).write(toFile: dir + "/census-income.test", atomically: true, encoding: .utf8)
        return dir
    }

    /// Runs the command with `arguments`, capturing what it prints.
    func run(_ arguments: [String]) throws -> (summary: TrainingSummary, out: [String], err: [String]) {
        var out: [String] = [], err: [String] = []
        let command = TrainCommand(options: try TrainOptions.parse(arguments), print: { out.append($0) }, printError: { err.append($0) })
        let summary = try command.run()
        return (summary, out, err)
    }

    func readJSON(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    }

    func testSyntheticRunWritesMetricsAndSummary() throws {
        let out = try temporaryDirectory() + "/result"
        let r = try run(["--num_train_samples", "512", "--num_test_samples", "200", "--expert_dnn", "16, 8", "--batch_size", "64",
                         "--train_batches", "20", "--loss_print_interval", "5", "--output_dir", out, "--threads", "1"])
        XCTAssertEqual(r.summary.steps, 20)
        XCTAssertTrue(r.out.last!.hasPrefix("mmoe-train: synthetic, 20 steps"), r.out.last!)
        XCTAssertTrue(r.out.contains { $0.hasPrefix("Rank[0], Step 5, Loss_task1 ") && $0.contains("Latency") && $0.contains("Throughput") })
        // 512 / 64 = 8 steps per epoch: evaluations at 8 and 16, then the final one at 20.
        XCTAssertEqual(r.out.filter { $0.hasPrefix("Rank[0], Epoch") }.count, 3)
        let lines = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 4 + 3)
        let summary = try readJSON(out + "/summary.json")
        for key in ["dataset", "model", "tasks", "steps", "epochs", "eval", "train", "peak_rss_mb"] { XCTAssertNotNil(summary[key], key) }
        XCTAssertEqual(summary["dataset"] as? String, "synthetic")
        XCTAssertEqual(summary["tasks"] as? [String], ["task1", "task2"])
        let eval = summary["eval"] as! [String: Any]
        for key in ["auc", "logloss", "accuracy"] { XCTAssertEqual((eval[key] as? [String: Double])?.count, 2, key) }
        XCTAssertEqual(eval["samples"] as? Int, 200)
        let train = summary["train"] as! [String: Any]
        XCTAssertGreaterThan(train["samples_per_sec"] as! Double, 0)
    }

    func testCensusRunSavesAndLoadsCheckpoints() throws {
        let data = try censusDirectory()
        let root = try temporaryDirectory()
        let common = ["--data_dir", data, "--embedding_vec_size", "2", "--expert_dnn", "8", "--batch_size", "30",
                      "--loss_print_interval", "1", "--threads", "1", "--output_dir", root + "/out"]
        let first = try run(common + ["--train_batches", "5", "--model_save_dir", root + "/models", "--save_initial_model",
                                      "--save_model_after_each_eval"])
        let saved = try FileManager.default.contentsOfDirectory(atPath: root + "/models").sorted()
        // 60 rows / 30 = 2 steps per epoch: evaluations after steps 2, 4 and (final) 5.
        XCTAssertEqual(saved.count, 5, "\(saved)")
        XCTAssertTrue(saved.contains("initial_checkpoint") && saved.contains("final_checkpoint"))
        XCTAssertTrue(saved.contains { $0.hasPrefix("step_2_val_auc_income_") && $0.contains("_marital_") }, "\(saved)")
        // A model loaded from the final checkpoint predicts what the trained model predicted.
        let census = try CensusIncome.load(directory: data)
        let config = MMoEConfig(denseWidth: 11, fieldRows: census.encoder.schema.fieldRows, embeddingDim: 2, expertDNN: [8],
                                fieldNames: census.encoder.schema.fieldNames)
        let loaded = try MMoEModel(config, seed: 99)
        try ModelCheckpoint.load(into: loaded, from: root + "/models/final_checkpoint")
        let evaluator = Trainer(model: loaded, train: census.train, test: census.test, settings: TrainerSettings())
        let report = evaluator.evaluate(census.test, epoch: 0, step: 0)
        XCTAssertEqual(report.logLoss, first.summary.finalEvaluation!.logLoss)

        // --model_load_dir into a run of a different shape names the tensor and both shapes.
        XCTAssertThrowsError(try run(common + ["--train_batches", "1", "--expert_dnn", "4", "--model_load_dir", root + "/models/final_checkpoint"])) {
            XCTAssertTrue("\($0)".hasSuffix("tensor experts.0.layers.0.weight has shape [69, 8] in the checkpoint but [69, 4] in this model"), "\($0)")
        }
    }

    /// Each refusal: a message naming the flag or file, and no output directory created.
    func testRefusalsNameTheProblemAndWriteNothing() throws {
        let data = try censusDirectory()
        let root = try temporaryDirectory()
        let out = root + "/never"
        let cases: [([String], String)] = [
            (["--data_dir", root + "/missing"], "--data_dir \(root)/missing: no such directory"),
            (["--data_dir", root], "found neither census-income.data"),
            (["--dataset", "census"], "--dataset census needs --data_dir"),
            (["--dataset", "taobao", "--data_dir", data], "--data_dir \(data): Taobao data needs both taobao_train_data and taobao_test_data"),
            (["--num_tasks", "3"], "--num_tasks 3: the synthetic data has 2 tasks"),
            (["--table_size_array", "3, 4"], "--table_size_array"),
            (["--data_dir", data, "--table_size_array", "3, 4"], "--table_size_array"),
            (["--data_dir", data, "--model_load_dir", root + "/nothing"], "--model_load_dir \(root)/nothing: no model.safetensors"),
        ]
        for (arguments, expected) in cases {
            XCTAssertThrowsError(try run(arguments + ["--output_dir", out, "--train_batches", "1"]), "\(arguments)") {
                XCTAssertTrue("\($0)".contains(expected), "\(arguments): \($0)")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(arguments) created the output directory")
        }
    }

    func testBadDataLineNamesFileLineAndField() throws {
        let data = try censusDirectory()
        var lines = try String(contentsOfFile: data + "/census-income.data", encoding: .utf8).components(separatedBy: "\n")
        lines[4] = lines[4].replacingOccurrences(of: "2259.6", with: "22x9")
        try lines.joined(separator: "\n").write(toFile: data + "/census-income.data", atomically: true, encoding: .utf8)
        let out = try temporaryDirectory() + "/never"
        XCTAssertThrowsError(try run(["--data_dir", data, "--output_dir", out])) {
            XCTAssertTrue($0 is DatasetError)
            let text = "\($0)"
            XCTAssertTrue(text.contains("census-income.data:5") && text.contains("instance_weight"), text)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testNoticesForFlagsThatDoNothingYet() throws {
        let out = try temporaryDirectory()
        let r = try run(["--loss_scale_policy", "dynamic", "--store_type", "cached_host_mem", "--num_train_samples", "64", "--num_test_samples", "32",
                         "--expert_dnn", "4", "--train_batches", "1", "--output_dir", out])
        XCTAssertEqual(r.err.filter { $0.hasPrefix("note: --loss_scale_policy dynamic applies to --amp") }.count, 1)
        XCTAssertEqual(r.err.filter { $0.hasPrefix("note: --store_type cached_host_mem without --persistent_path persists nothing") }.count, 1)
    }
}
