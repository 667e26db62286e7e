import XCTest
import Foundation
@testable import MMoE

/// `--amp` and `--loss_scale_policy` through the command: what it prints and writes, and an exact
/// resume that needs the loss scaler's checkpointed state.
extension TrainCommandTests {
    func testAmpLogsTheLossScaleAndSummarisesSkippedSteps() throws {
        let data = try censusDirectory()
        let out = try temporaryDirectory()
        let r = try run(["--data_dir", data, "--amp", "--loss_scale_policy", "dynamic", "--expert_dnn", "8", "--batch_size", "16",
                         "--train_batches", "6", "--loss_print_interval", "3", "--output_dir", out])
        XCTAssertTrue(r.err.isEmpty, "\(r.err)")
        XCTAssertTrue(r.out.contains { $0.hasPrefix("Mixed precision (--amp)") && $0.contains("loss scale dynamic, starting at 1073741824 ") }, r.out.joined(separator: "\n"))
        let steps = r.out.filter { $0.hasPrefix("Rank[0], Step") }
        XCTAssertEqual(steps.count, 2)
        XCTAssertTrue(steps.allSatisfy { $0.contains("Loss_scale 1073741824, ") }, "\(steps)")
        XCTAssertTrue(r.out.last!.contains("loss scale 1073741824, 0 steps skipped for overflow"), r.out.last!)
        let table = r.out.flatMap { $0.split(separator: "\n") }
        XCTAssertTrue(table.contains { $0.hasPrefix("  amp ....") && $0.hasSuffix(" true") })
        XCTAssertTrue(table.contains { $0.hasPrefix("  loss_scale_policy ....") && $0.hasSuffix(" dynamic") })
        let summary = try readJSON(out + "/summary.json")
        XCTAssertEqual(summary["skipped_steps"] as? Int, 0)
        XCTAssertEqual(summary["loss_scale"] as? Double, 0x1p30)
        let record = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").first!
        XCTAssertTrue(record.contains("\"loss_scale\":1073741824"), String(record))

        // Without --amp: no scale in the step lines, a null one in the summary.
        let plainOut = try temporaryDirectory()
        let plain = try run(["--data_dir", data, "--expert_dnn", "8", "--batch_size", "16", "--train_batches", "3",
                             "--loss_print_interval", "3", "--output_dir", plainOut])
        XCTAssertFalse(plain.out.contains { $0.contains("Loss_scale") || $0.contains("Mixed precision") })
        let plainSummary = try readJSON(plainOut + "/summary.json")
        XCTAssertEqual(plainSummary["skipped_steps"] as? Int, 0)
        XCTAssertTrue(plainSummary["loss_scale"] is NSNull)
    }

    /// Six steps, then four more from the checkpoint, equal ten straight: the optimizer file (with
    /// the scaler's clean-step count in its metadata) matches byte for byte.
    func testAmpResumesExactlyFromItsCheckpoint() throws {
        let data = try censusDirectory()
        let root = try temporaryDirectory()
        func options(_ steps: Int, checkpoint: String) throws -> TrainOptions {
            try TrainOptions.parse(["--data_dir", data, "--amp", "--loss_scale_policy", "dynamic", "--expert_dnn", "8", "--batch_size", "16",
                                    "--train_batches", "\(steps)", "--no_eval", "--checkpoint", checkpoint, "--output_dir", root + "/out"])
        }
        var lines: [String] = []
        for steps in [6, 10] {
            _ = try TrainCommand(options: try options(steps, checkpoint: root + "/ck"), print: { lines.append($0) }, printError: { _ in }).run()
        }
        XCTAssertTrue(lines.contains { $0.hasPrefix("Resuming from \(root)/ck/model.ckpt-6") })
        _ = try TrainCommand(options: try options(10, checkpoint: root + "/straight"), print: { _ in }, printError: { _ in }).run()
        for file in [ModelCheckpoint.fileName, OptimizerCheckpoint.fileName] {
            let a = try Data(contentsOf: URL(fileURLWithPath: "\(root)/ck/model.ckpt-10/\(file)"))
            let b = try Data(contentsOf: URL(fileURLWithPath: "\(root)/straight/model.ckpt-10/\(file)"))
            XCTAssertTrue(a == b, "\(file) differs between the resumed and the straight run")
        }
        let saved = try SafeTensors.decode(try Data(contentsOf: URL(fileURLWithPath: "\(root)/ck/model.ckpt-10/\(OptimizerCheckpoint.fileName)")), file: "optimizer")
        XCTAssertEqual(saved.metadata["loss_scale_clean_steps"], "10")
        XCTAssertEqual(saved.metadata["loss_scale_policy"], "dynamic")
    }
}
