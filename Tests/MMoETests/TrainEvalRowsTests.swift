import XCTest
import Foundation
@testable import MMoE

/// `--train_eval_rows N`: summary.json's `train_eval` is the final model's loss on the first N
/// training rows, recomputed here from the saved final model and the same rows.
final class TrainEvalRowsTests: XCTestCase {
    func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmoe-train-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    func testSummaryHoldsTheFinalModelsLossOnTheFirstTrainingRows() throws {
        let out = try temporaryDirectory()
        let arguments = ["--num_train_samples", "300", "--num_test_samples", "40", "--synthetic_dim", "8", "--num_experts", "3",
                         "--expert_dnn", "4", "--tower_dnn", "4", "--batch_size", "50", "--train_batches", "12", "--threads", "1",
                         "--task_types", "regression,regression", "--seed", "9", "--train_eval_rows", "70",
                         "--model_save_dir", out + "/models", "--output_dir", out, "--tensorboard", "False"]
        let options = try TrainOptions.parse(arguments)
        var printed: [String] = []
        let command = TrainCommand(options: options, print: { printed.append($0) }, printError: { _ in })
        try command.run()

        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? [String: Any])
        let trainEval = try XCTUnwrap(summary["train_eval"] as? [String: Any])
        XCTAssertEqual(trainEval["samples"] as? Int, 70)
        let loss = try XCTUnwrap(trainEval["loss"] as? [String: Double])

        let data = try command.loadData(.synthetic, options.resolved(for: .synthetic))
        let rows = try XCTUnwrap(data.trainTable).gathering(0 ..< 70)
        let model = try CheckpointManifest.loadModel(from: out + "/models/final_checkpoint").model
        let logits = Predictor(model: model).logits(rows)
        for (t, task) in ["task1", "task2"].enumerated() {
            let labels = (0 ..< 70).map { rows.labels[$0 * 2 + t] }
            let mse = zip(logits[t], labels).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +) / 70
            XCTAssertEqual(try XCTUnwrap(loss[task]), mse, accuracy: 1e-6 * max(1, mse), task)
        }
        XCTAssertTrue(printed.contains { $0.hasPrefix("Final model on the first 70 training rows: Loss_task1 ") }, printed.joined(separator: "\n"))

        // Without the flag there is no train_eval; more rows than the data has are capped.
        let plain = try temporaryDirectory()
        try TrainCommand(options: try TrainOptions.parse(Array(arguments.prefix(20)) + ["--output_dir", plain, "--tensorboard", "False"]),
                         print: { _ in }, printError: { _ in }).run()
        let plainSummary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: plain + "/summary.json"))) as? [String: Any])
        XCTAssertNil(plainSummary["train_eval"])
        let capped = try temporaryDirectory()
        try TrainCommand(options: try TrainOptions.parse(Array(arguments.prefix(20)) + ["--train_eval_rows", "5000", "--output_dir", capped, "--tensorboard", "False"]),
                         print: { _ in }, printError: { _ in }).run()
        let cappedSummary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: capped + "/summary.json"))) as? [String: Any])
        XCTAssertEqual((cappedSummary["train_eval"] as? [String: Any])?["samples"] as? Int, 300)
    }
}
