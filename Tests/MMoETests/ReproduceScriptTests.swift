import XCTest
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// `Scripts/reproduce_paper.sh --quick` end to end with the built binaries, and the `mmoe-report`
/// binary's exit codes. Only the pipeline is checked (every file written, every number finite);
/// the science is in the full run's files, not in a test.
final class ReproduceScriptTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `name` next to the test bundle (where `swift build` / `swift test` put it), as
    /// ExecutableTests finds mmoe-train; the environment variable `MMOE_TRAIN` / `MMOE_REPORT`
    /// names another.
    func binary(_ name: String, environment: String) throws -> URL {
        if let given = ProcessInfo.processInfo.environment[environment], !given.isEmpty { return URL(fileURLWithPath: given) }
        let bundle = Bundle(for: Self.self).bundleURL
        for dir in [bundle, bundle.deletingLastPathComponent()] {
            let url = dir.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        throw XCTSkip("no \(name) binary next to the tests in \(bundle.path)")
    }

    /// Runs `executable` with `arguments`, stopping it after `timeout` seconds.
    func run(_ executable: URL, _ arguments: [String], environment: [String: String] = [:],
             timeout: Double = 120) throws -> (status: Int32, out: String, err: String, seconds: Double) {
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let outFile = FileManager.default.temporaryDirectory.appendingPathComponent("mmoe-script-\(UUID().uuidString).out")
        let errFile = outFile.appendingPathExtension("err")
        FileManager.default.createFile(atPath: outFile.path, contents: nil)
        FileManager.default.createFile(atPath: errFile.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outFile); try? FileManager.default.removeItem(at: errFile) }
        p.standardOutput = try FileHandle(forWritingTo: outFile)
        p.standardError = try FileHandle(forWritingTo: errFile)
        let start = Date()
        try p.run()
        let watchdog = DispatchWorkItem { if p.isRunning { p.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        p.waitUntilExit()
        watchdog.cancel()
        return (p.terminationStatus, try String(contentsOf: outFile, encoding: .utf8), try String(contentsOf: errFile, encoding: .utf8),
                Date().timeIntervalSince(start))
    }

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmoe-script-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Every number in a JSON value; fails on a null (how mmoe-train writes a non-finite number)
    /// where a number is due: everywhere but a gate report's `collapsed_onto` (null: not collapsed)
    /// and, in mmoe-train's records, the metrics a regression task has none of (AUC, accuracy,
    /// log-loss); its losses must be there.
    func numbers(_ value: Any, at path: String, file: StaticString = #filePath, line: UInt = #line) -> [Double] {
        switch value {
        case let object as [String: Any]: return object.sorted { $0.key < $1.key }.flatMap { numbers($0.value, at: path + "." + $0.key, file: file, line: line) }
        case let array as [Any]: return array.enumerated().flatMap { numbers($0.element, at: "\(path)[\($0.offset)]", file: file, line: line) }
        case is NSNull:
            if path.hasSuffix(".collapsed_onto") { return [] }
            if (path.contains("summary.json") || path.contains("metrics.jsonl")) && !path.contains(".loss.") { return [] }
            XCTFail("\(path) is null", file: file, line: line)
            return []
        case let n as NSNumber: return [n.doubleValue]
        default: return []
        }
    }

    func testQuickModeWritesEveryFileWithFiniteNumbers() throws {
        let train = try binary("mmoe-train", environment: "MMOE_TRAIN")
        let report = try binary("mmoe-report", environment: "MMOE_REPORT")
        let help = try run(train, ["--help"])
        guard help.out.contains("--task_types") else {
            throw XCTSkip("\(train.path) has no --task_types flag: the regression tasks and baselines the study needs are not built into this mmoe-train")
        }
        let out = try temporaryDirectory().appendingPathComponent("paper")
        let script = Self.repository.appendingPathComponent("Scripts/reproduce_paper.sh")
        let r = try run(URL(fileURLWithPath: "/bin/bash"), [script.path, "--quick", "--out", out.path, "--jobs", "2"],
                        environment: ["MMOE_TRAIN": train.path, "MMOE_REPORT": report.path])
        XCTAssertEqual(r.status, 0, "stdout:\n\(r.out)\nstderr:\n\(r.err)")
        XCTAssertLessThan(r.seconds, 120)

        let correlations = ["1.0", "0.5"], models = ["shared_bottom", "omoe", "mmoe"], seeds = [1, 2], rates = ["0.001", "0.01"]
        var expected = ["command.txt", "runs.csv", "table.md", "final_loss_vs_correlation.svg"]
        expected += correlations.map { "loss_curves_p\($0).svg" }
        expected += correlations.flatMap { ["gates/mmoe_p\($0).json", "gates/mmoe_p\($0).svg"] }
        for model in models {
            for p in correlations {
                for seed in seeds {
                    for lr in rates {
                        let run = "runs/\(model)_p\(p)_s\(seed)_lr\(lr)/"
                        expected += ["run.json", "summary.json", "metrics.jsonl", "train.log"].map { run + $0 }
                    }
                }
            }
        }
        for name in expected {
            let path = out.appendingPathComponent(name).path
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            XCTAssertGreaterThan((attributes?[.size] as? Int) ?? 0, 0, "\(name) is missing or empty")
        }

        for name in expected where name.hasSuffix(".svg") {
            let svg = try String(contentsOf: out.appendingPathComponent(name), encoding: .utf8)
            let probe = try XCTUnwrap(SVGProbe.parse(svg), name)
            XCTAssertTrue(probe.numbers.allSatisfy(\.isFinite), name)
            XCTAssertFalse(svg.contains("NaN") || svg.contains("nan") || svg.contains("inf"), name)
        }
        for name in expected where name.hasSuffix(".json") {
            let value = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent(name)))
            XCTAssertTrue(numbers(value, at: name).allSatisfy(\.isFinite), name)
        }
        for name in expected where name.hasSuffix(".jsonl") {
            let text = try String(contentsOf: out.appendingPathComponent(name), encoding: .utf8)
            for (i, line) in text.split(separator: "\n").enumerated() {
                let value = try JSONSerialization.jsonObject(with: Data(line.utf8))
                XCTAssertTrue(numbers(value, at: "\(name):\(i + 1)").allSatisfy(\.isFinite))
            }
        }
        let csv = try String(contentsOf: out.appendingPathComponent("runs.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.first, "model,correlation,seed,task,final_test_loss,parameters,run,learning_rate,final_train_loss,validation_loss,chosen")
        XCTAssertEqual(csv.count, 1 + models.count * correlations.count * seeds.count * rates.count * 2)
        var chosen: [String: Set<String>] = [:]
        for row in csv.dropFirst() {
            let cells = row.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            XCTAssertEqual(cells.count, 11, String(row))
            for i in [4, 8, 9] {
                let loss = try XCTUnwrap(Double(cells[i]), "column \(i): \(row)")
                XCTAssertTrue(loss.isFinite && loss >= 0, String(row))
            }
            XCTAssertNotNil(Int(cells[5]), "parameter count read from the training log: \(row)")
            XCTAssertTrue(rates.contains(cells[7]), String(row))
            if cells[10] == "yes" { chosen["\(cells[0]) \(cells[1])", default: []].insert(cells[7]) }
        }
        // One rate per model and correlation, the same for all its seeds.
        XCTAssertEqual(chosen.count, models.count * correlations.count, "\(chosen)")
        XCTAssertTrue(chosen.values.allSatisfy { $0.count == 1 }, "\(chosen)")
        let table = try String(contentsOf: out.appendingPathComponent("table.md"), encoding: .utf8)
        XCTAssertFalse(table.lowercased().contains("nan") || table.contains("inf"), table)
        for model in models { XCTAssertTrue(table.contains("| \(model) |"), table) }
        for section in ["## Learning rate", "## Final training loss beside the test loss", "## Paired differences to MMoE, seed by seed",
                        "| omoe − mmoe |", "| shared_bottom − mmoe |"] {
            XCTAssertTrue(table.contains(section), section)
        }

        // Reused rows cannot choose among learning rates: refused before any run.
        let reuse = try run(URL(fileURLWithPath: "/bin/bash"), [script.path, "--quick", "--regime", "reuse", "--lrs", "0.001 0.01", "--out", out.path + "-reuse"],
                            environment: ["MMOE_TRAIN": train.path, "MMOE_REPORT": report.path])
        XCTAssertEqual(reuse.status, 2, reuse.err)
        XCTAssertTrue(reuse.err.contains("needs fresh rows"), reuse.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path + "-reuse"))
    }

    func testReportBinaryExitCodes() throws {
        let report = try binary("mmoe-report", environment: "MMOE_REPORT")
        XCTAssertEqual(try run(report, ["--help"]).status, 0)
        let missing = try run(report, [])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.err.hasPrefix("mmoe-report: missing command"), missing.err)

        let runs = try temporaryDirectory()
        let bad = runs.appendingPathComponent("mmoe_p0.5_s1")
        try FileManager.default.createDirectory(at: bad, withIntermediateDirectories: true)
        try "{\"model\": \"mmoe\"".write(to: bad.appendingPathComponent("run.json"), atomically: true, encoding: .utf8)
        let malformed = try run(report, ["paper", "--runs", runs.path, "--out", runs.appendingPathComponent("out").path])
        XCTAssertEqual(malformed.status, 2)
        XCTAssertEqual(malformed.err, "mmoe-report: \(bad.path)/run.json: not a JSON object\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: runs.appendingPathComponent("out").path))
    }
}
