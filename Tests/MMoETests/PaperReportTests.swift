import XCTest
import Foundation
@testable import MMoE

/// `mmoe-report paper` on run directories written by hand in the shape `Scripts/reproduce_paper.sh`
/// and `mmoe-train` leave them.
final class PaperReportTests: XCTestCase {
    func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmoe-report-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    /// The final loss of (model, p, seed, task) in the fixture: distinct, easy to average by hand.
    static func loss(_ model: String, _ p: Double, _ seed: Int, _ task: Int) -> Double {
        (model == "mmoe" ? 1.0 : 2.0) + (1 - p) + 0.1 * Double(seed) + 0.01 * Double(task)
    }

    /// One run directory: run.json, summary.json, and metrics.jsonl with a train record and
    /// evaluations at steps 10 and 20 (the last equal to the final loss).
    @discardableResult
    func writeRun(_ root: String, model: String, p: Double, seed: Int, parameters: Int? = 1234) throws -> String {
        let dir = "\(root)/\(model)_p\(p)_s\(seed)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let final = (0..<2).map { Self.loss(model, p, seed, $0) }
        try "{\"model\": \"\(model)\", \"correlation\": \(p), \"seed\": \(seed), \"parameters\": \(parameters.map(String.init) ?? "null")}\n"
            .write(toFile: dir + "/run.json", atomically: true, encoding: .utf8)
        let summary: [String: Any] = ["model": model, "tasks": ["task1", "task2"], "steps": 20,
                                      "eval": ["loss": ["task1": final[0], "task2": final[1]]]]
        try RunLog.json(summary).write(toFile: dir + "/summary.json", atomically: true, encoding: .utf8)
        let records: [[String: Any]] = [
            ["type": "train", "step": 5, "loss": ["task1": 9.0, "task2": 9.0]],
            ["type": "eval", "step": 10, "epoch": 1, "loss": ["task1": final[0] + 1, "task2": final[1] + 1]],
            ["type": "eval", "step": 20, "epoch": 2, "loss": ["task1": final[0], "task2": final[1]]],
        ]
        try (records.map(RunLog.json).joined(separator: "\n") + "\n").write(toFile: dir + "/metrics.jsonl", atomically: true, encoding: .utf8)
        return dir
    }

    /// mmoe and shared_bottom at p = 1.0 and 0.5, seeds 1 and 2.
    func fixture() throws -> String {
        let root = try temporaryDirectory() + "/runs"
        for model in ["mmoe", "shared_bottom"] { for p in [1.0, 0.5] { for seed in [1, 2] { try writeRun(root, model: model, p: p, seed: seed) } } }
        return root
    }

    func testAggregatesFinalLossesAndCurves() throws {
        let report = try PaperReport.load(runsDirectory: try fixture())
        XCTAssertEqual(report.runs.count, 8)
        XCTAssertEqual(report.models, ["shared_bottom", "mmoe"], "the paper's baseline first")
        XCTAssertEqual(report.correlations, [1.0, 0.5])
        XCTAssertEqual(report.tasks, ["task1", "task2"])

        // mmoe at p = 0.5, task2: 1 + 0.5 + {0.1, 0.2} + 0.01 -> mean 1.66, std sqrt(0.005).
        let s = report.spread("mmoe", 0.5, task: 1)
        XCTAssertEqual(s.count, 2)
        XCTAssertEqual(s.mean, 1.66, accuracy: 1e-12)
        XCTAssertEqual(s.std, (0.005 as Double).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(s.min, 1.61, accuracy: 1e-12)
        XCTAssertEqual(s.max, 1.71, accuracy: 1e-12)
        // Mean over tasks: shared_bottom at p = 1: 2 + {0.1, 0.2} + 0.005.
        XCTAssertEqual(report.spread("shared_bottom", 1.0, task: nil).mean, 2.155, accuracy: 1e-12)

        // The curve: mean over seeds and tasks at each step.
        let curve = report.meanCurve("mmoe", 1.0)
        XCTAssertEqual(curve.map(\.x), [10, 20])
        XCTAssertEqual(curve[1].y, 1.155, accuracy: 1e-12)
        XCTAssertEqual(curve[0].y, 2.155, accuracy: 1e-12)

        let csv = report.csv().split(separator: "\n")
        XCTAssertEqual(csv.first, "model,correlation,seed,task,final_test_loss,parameters,run,learning_rate,final_train_loss,validation_loss,chosen")
        XCTAssertEqual(csv.count, 1 + 8 * 2)
        XCTAssertEqual(csv[1], "shared_bottom,1.0,1,task1,\(Self.loss("shared_bottom", 1, 1, 0)),1234,shared_bottom_p1.0_s1,,,,yes")

        let table = report.markdownTable()
        XCTAssertTrue(table.contains("| model | parameters | p = 1.0 | p = 0.5 |"), table)
        XCTAssertTrue(table.contains("## Task task2"), table)
        XCTAssertTrue(table.contains("| mmoe | 1234 | 1.16 ± 0.071 (2) | 1.66 ± 0.071 (2) |"), table)
        // Each seed's shared_bottom loss is MMoE's + 1.
        XCTAssertTrue(table.contains("| shared_bottom − mmoe | +1.0000 ± 0.0000 (2 of 2) | +1.0000 ± 0.0000 (2 of 2) |"), table)
        XCTAssertFalse(table.contains("## Learning rate"), "no run records its learning rate")
    }

    func testWritesEveryFileAndTheChartsParse() throws {
        let out = try temporaryDirectory() + "/report"
        let report = try PaperReport.load(runsDirectory: try fixture())
        let paths = try report.write(to: out)
        XCTAssertEqual(paths.map { ($0 as NSString).lastPathComponent },
                       ["runs.csv", "table.md", "loss_curves_p1.0.svg", "loss_curves_p0.5.svg", "final_loss_vs_correlation.svg"])
        for path in paths where path.hasSuffix(".svg") {
            let probe = try XCTUnwrap(SVGProbe.parse(try String(contentsOfFile: path, encoding: .utf8)))
            XCTAssertTrue(probe.texts.contains("mmoe") && probe.texts.contains("shared_bottom"), path)
        }
        let curves = try XCTUnwrap(SVGProbe.parse(try String(contentsOfFile: out + "/loss_curves_p0.5.svg", encoding: .utf8)))
        XCTAssertEqual(curves.elements.filter { $0 == "polyline" }.count, 2)
        XCTAssertTrue(curves.texts.contains { $0.contains("p = 0.5") })
    }

    func testUnfinishedRunsAreSkippedAndMalformedFilesNamed() throws {
        let root = try fixture()
        try FileManager.default.createDirectory(atPath: root + "/mmoe_p0.0_s1", withIntermediateDirectories: true)
        let report = try PaperReport.load(runsDirectory: root)
        XCTAssertEqual(report.runs.count, 8)
        XCTAssertEqual(report.skipped.count, 1)
        XCTAssertTrue(report.skipped[0].contains("mmoe_p0.0_s1: no run.json"), report.skipped[0])

        func error(_ body: () throws -> Void) -> String {
            do { try body() } catch { return "\(error)" }
            return "no error"
        }
        let dir = try writeRun(root, model: "omoe", p: 0.9, seed: 1)
        try "{\"type\":\"eval\",\"step\":1,\"loss\":{\"task1\":1,\"task2\":1}}\n{\"type\":\"eval\",\"step\":2,\n"
            .write(toFile: dir + "/metrics.jsonl", atomically: true, encoding: .utf8)
        XCTAssertEqual(error { _ = try PaperReport.load(runsDirectory: root) }, "\(dir)/metrics.jsonl:2: not a JSON object")

        try "{\"type\":\"eval\",\"step\":1,\"loss\":{\"task1\":1}}\n".write(toFile: dir + "/metrics.jsonl", atomically: true, encoding: .utf8)
        XCTAssertEqual(error { _ = try PaperRun.load(directory: dir) }, "\(dir)/metrics.jsonl:1: field \"loss.task2\" is missing")

        try "{\"model\": \"omoe\", \"seed\": 1}".write(toFile: dir + "/run.json", atomically: true, encoding: .utf8)
        XCTAssertEqual(error { _ = try PaperRun.load(directory: dir) }, "\(dir)/run.json: field \"correlation\" is missing")
        try "{\"model\": \"omoe\", \"correlation\": 2, \"seed\": 1}".write(toFile: dir + "/run.json", atomically: true, encoding: .utf8)
        XCTAssertTrue(error { _ = try PaperRun.load(directory: dir) }.contains("run.json: field \"correlation\" is 2.0, outside [-1, 1]"))
        try "{\"model\": \"omoe\", \"correlation\": 0.9, \"seed\": 1.5}".write(toFile: dir + "/run.json", atomically: true, encoding: .utf8)
        XCTAssertTrue(error { _ = try PaperRun.load(directory: dir) }.contains("run.json: field \"seed\" is not an integer"))
        try "not json".write(toFile: dir + "/run.json", atomically: true, encoding: .utf8)
        XCTAssertEqual(error { _ = try PaperRun.load(directory: dir) }, "\(dir)/run.json: not a JSON object")

        try writeRun(root, model: "omoe", p: 0.9, seed: 1)
        try "{\"tasks\": [\"task1\", \"task2\"], \"eval\": null}".write(toFile: dir + "/summary.json", atomically: true, encoding: .utf8)
        XCTAssertTrue(error { _ = try PaperRun.load(directory: dir) }.hasPrefix("\(dir)/summary.json: field \"eval\" is missing or null"))
        try FileManager.default.removeItem(atPath: dir + "/summary.json")
        XCTAssertEqual(error { _ = try PaperRun.load(directory: dir) }, "\(dir)/summary.json: no such file")
        try FileManager.default.removeItem(atPath: dir)

        // The same model, correlation and seed twice.
        let twin = root + "/copy_of_mmoe"
        try FileManager.default.copyItem(atPath: root + "/mmoe_p1.0_s1", toPath: twin)
        XCTAssertTrue(error { _ = try PaperReport.load(runsDirectory: root) }.contains("mmoe p=1.0 seed=1 is also the run in"))
        try FileManager.default.removeItem(atPath: twin)

        let empty = try temporaryDirectory()
        XCTAssertEqual(error { _ = try PaperReport.load(runsDirectory: empty) }, "--runs \(empty): no run directories with a run.json")
    }

    func testRunsBeforeRegressionTasksReadLogloss() throws {
        let root = try fixture()
        let dir = root + "/mmoe_p1.0_s1"
        try RunLog.json(["tasks": ["task1", "task2"], "eval": ["logloss": ["task1": 0.5, "task2": 0.25]]])
            .write(toFile: dir + "/summary.json", atomically: true, encoding: .utf8)
        XCTAssertEqual(try PaperRun.load(directory: dir).finalLoss, [0.5, 0.25])
    }

    func testOptionsNeedTheCommandAndBothDirectories() throws {
        let o = try ReportOptions.parse(["paper", "--runs", "a", "--out", "b"])
        XCTAssertEqual(o.runs, "a")
        XCTAssertEqual(o.out, "b")
        XCTAssertTrue(try ReportOptions.parse(["--help"]).help)
        func message(_ args: [String]) -> String {
            do { _ = try ReportOptions.parse(args) } catch { return error.message }
            return "no error"
        }
        XCTAssertEqual(message(["--runs", "a", "--out", "b"]), "missing command (usage: mmoe-report run DIR, or mmoe-report paper --runs DIR --out DIR)")
        XCTAssertEqual(message(["census", "--runs", "a"]), "unknown command \"census\" (the commands are: run, paper)")
        XCTAssertEqual(message(["paper", "--out", "b"]), "--runs DIR is required (the directory of run directories)")
        XCTAssertEqual(message(["paper", "--runs", "a"]), "--out DIR is required (where the report is written)")
        XCTAssertTrue(message(["paper", "--run", "a"]).hasPrefix("unknown flag --run"))
        XCTAssertTrue(ReportOptions.helpText.contains("--runs DIR"))
    }
}
