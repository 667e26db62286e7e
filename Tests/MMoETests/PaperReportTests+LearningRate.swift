import XCTest
import Foundation
@testable import MMoE

/// The study's choice among learning rates (by the late training loss on unseen rows, never the
/// test loss), the final training loss beside the test loss, and the per-seed paired differences.
final class PaperReportLearningRateTests: XCTestCase {
    func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmoe-report-lr-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    /// A run of 40 steps: training losses `early` at step 10 and `late` at steps 32 and 40 (after
    /// three quarters), final test loss `test` and final training loss `train` for both tasks.
    func writeRun(_ root: String, model: String, p: Double, seed: Int, lr: Double, early: Double = 50, late: Double,
                  test: Double, train: Double, epochs: Double = 1) throws {
        let dir = "\(root)/\(model)_p\(p)_s\(seed)_lr\(lr)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try RunLog.json(["model": model, "correlation": p, "seed": seed, "learning_rate": lr, "parameters": 10])
            .write(toFile: dir + "/run.json", atomically: true, encoding: .utf8)
        func both(_ x: Double) -> [String: Double] { ["task1": x, "task2": x] }
        try RunLog.json(["model": model, "tasks": ["task1", "task2"], "steps": 40, "epochs": epochs, "eval": ["loss": both(test)],
                         "train_eval": ["loss": both(train), "samples": 100]])
            .write(toFile: dir + "/summary.json", atomically: true, encoding: .utf8)
        let records: [[String: Any]] = [["type": "train", "step": 10, "loss": both(early)], ["type": "train", "step": 32, "loss": both(late)],
                                        ["type": "train", "step": 40, "loss": both(late)], ["type": "eval", "step": 40, "epoch": 1, "loss": both(test)]]
        try (records.map(RunLog.json).joined(separator: "\n") + "\n").write(toFile: dir + "/metrics.jsonl", atomically: true, encoding: .utf8)
    }

    func testTheLateTrainingLossChoosesTheRateAndTheTablesUseIt() throws {
        let root = try temporaryDirectory() + "/runs"
        for seed in 1 ... 3 {
            let s = Double(seed)
            // mmoe: 0.01 has the lower late training loss but the higher test loss, so a choice by
            // the test loss would take 0.001.
            try writeRun(root, model: "mmoe", p: 0.5, seed: seed, lr: 0.001, late: 2, test: 1 + s, train: 0.5)
            try writeRun(root, model: "mmoe", p: 0.5, seed: seed, lr: 0.01, early: 0, late: 1, test: 3 + s, train: 0.25)
            // omoe: 0.001 wins on the late losses (its early loss is the worse one, and is not read).
            try writeRun(root, model: "omoe", p: 0.5, seed: seed, lr: 0.001, early: 99, late: 1, test: 3.5 + s + (seed == 2 ? -1 : 0), train: 1)
            try writeRun(root, model: "omoe", p: 0.5, seed: seed, lr: 0.01, early: 0, late: 3, test: 0, train: 1)
        }
        let report = try PaperReport.load(runsDirectory: root)
        XCTAssertEqual(report.allRuns.count, 12)
        XCTAssertEqual(report.runs.count, 6)
        XCTAssertEqual(report.chosenLearningRates["mmoe|0.5"], 0.01)
        XCTAssertEqual(report.chosenLearningRates["omoe|0.5"], 0.001)
        XCTAssertEqual(report.runs.first { $0.model == "mmoe" }?.validationLoss, 1)
        XCTAssertEqual(report.spread("mmoe", 0.5, task: nil).mean, 5, accuracy: 1e-12)

        // omoe - mmoe per seed: 3.5 + s (- 1 for seed 2) - (3 + s) = +0.5, -0.5, +0.5.
        XCTAssertEqual(report.pairedDifferences("omoe", 0.5).map(\.seed), [1, 2, 3])
        XCTAssertEqual(report.pairedDifferences("omoe", 0.5).map(\.difference), [0.5, -0.5, 0.5])
        let table = report.markdownTable()
        XCTAssertTrue(table.contains("| omoe − mmoe | +0.1667 ± 0.5774 (2 of 3) |"), table)
        XCTAssertTrue(table.contains("| 2 | -0.5000 |"), table)
        XCTAssertTrue(table.contains("| mmoe | **0.01** (0.001: 2, 0.01: 1) |"), table)
        XCTAssertTrue(table.contains("| omoe | **0.001** (0.001: 1, 0.01: 3) |"), table)
        XCTAssertTrue(table.contains("| mmoe | 0.25 / 5 |"), table)
        XCTAssertTrue(table.contains("| omoe | 1 / 5.167 |"), table)

        let csv = report.csv().split(separator: "\n")
        XCTAssertEqual(csv.count, 1 + 12 * 2)
        XCTAssertTrue(csv.contains("mmoe,0.5,1,task1,4.0,10,mmoe_p0.5_s1_lr0.01,0.01,0.25,1.0,yes"), csv.joined(separator: "\n"))
        XCTAssertTrue(csv.contains("mmoe,0.5,1,task1,2.0,10,mmoe_p0.5_s1_lr0.001,0.001,0.5,2.0,no"), csv.joined(separator: "\n"))
    }

    func testAChoiceOnReusedRowsIsRefused() throws {
        let root = try temporaryDirectory() + "/runs"
        try writeRun(root, model: "mmoe", p: 1, seed: 1, lr: 0.001, late: 1, test: 1, train: 1)
        try writeRun(root, model: "mmoe", p: 1, seed: 1, lr: 0.01, late: 1, test: 1, train: 1, epochs: 20)
        XCTAssertThrowsError(try PaperReport.load(runsDirectory: root)) { error in
            XCTAssertEqual("\(error)", "\(root)/mmoe_p1.0_s1_lr0.01/summary.json: mmoe at p = 1.0 was trained at several learning rates, "
                           + "and choosing among them needs a loss on rows not trained on; this run passed over its rows 20.00 times "
                           + "(give rows >= steps x batch, or one learning rate)")
        }
        // One learning rate needs no choice: reused rows are fine, and no validation loss is shown.
        try FileManager.default.removeItem(atPath: root + "/mmoe_p1.0_s1_lr0.001")
        let single = try PaperReport.load(runsDirectory: root)
        XCTAssertEqual(single.runs.count, 1)
        XCTAssertTrue(single.markdownTable().contains("Every model was trained at one Adam learning rate per correlation: 0.01 (nothing to choose)."))
    }
}
