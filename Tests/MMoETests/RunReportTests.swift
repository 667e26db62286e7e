import XCTest
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import MMoE

/// `mmoe-report run DIR`: the page built from a real run directory, as XML, in a browser, and on
/// directories it cannot use.
final class RunReportTests: XCTestCase {
    func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmoe-report-run-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    /// A small synthetic run into a fresh directory.
    func train(_ extra: [String]) throws -> String {
        let out = try temporaryDirectory()
        let options = try TrainOptions.parse(["--num_train_samples", "512", "--num_test_samples", "200", "--expert_dnn", "16, 8",
                                              "--batch_size", "64", "--train_batches", "20", "--loss_print_interval", "5",
                                              "--threads", "1", "--output_dir", out] + extra)
        try TrainCommand(options: options, print: { _ in }, printError: { _ in }).run()
        return out
    }

    /// Parses `xml`, failing with the parser's message and line when it is not well-formed.
    func assertWellFormed(_ xml: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let parser = XMLParser(data: Data(xml.utf8))
        XCTAssertTrue(parser.parse(), "\(what): \(parser.parserError.map { "\($0)" } ?? "?") at line \(parser.lineNumber)", file: file, line: line)
    }

    func svgs(_ html: String) -> [String] {
        html.components(separatedBy: "<svg ").dropFirst().map { "<svg " + $0.components(separatedBy: "</svg>")[0] + "</svg>" }
    }

    func testReportOfARunWithGates() throws {
        let dir = try train(["--gate_report"])
        let report = try RunReport.load(directory: dir)
        XCTAssertEqual(report.tasks, ["task1", "task2"])
        XCTAssertEqual(report.steps.map(\.step), [5, 10, 15, 20])
        XCTAssertEqual(report.evaluations.map(\.step), [8, 16, 20])
        XCTAssertEqual(report.gates?.gates.map(\.name), ["task1", "task2"])
        let path = try report.write()
        XCTAssertEqual(path, dir + "/report.html")
        let html = try String(contentsOfFile: path, encoding: .utf8)
        assertWellFormed(html, "report.html")
        let charts = svgs(html)
        XCTAssertEqual(charts.count, 5, "training loss, test AUC, test loss, throughput, gates")
        for (i, svg) in charts.enumerated() { assertWellFormed(svg, "chart \(i)") }
        for title in ["Training loss per task", "Test AUC per task", "Test loss per task", "Training throughput", "Mean gate weight per expert"] {
            XCTAssertTrue(html.contains(title), title)
        }
        // Lines drawn (not "no data"), the summary and the flags.
        XCTAssertEqual(charts.prefix(4).filter { $0.contains("<polyline") }.count, 4)
        XCTAssertFalse(html.contains("no data"))
        XCTAssertTrue(html.contains("<tr><th>steps</th><td>20</td></tr>"), html)
        XCTAssertTrue(html.contains("<tr><th>train_batches</th><td>20</td></tr>"))
        XCTAssertTrue(html.contains("<tr><th>gate_report</th><td>true</td></tr>"))
        // Self-contained: nothing loaded from elsewhere.
        for outside in ["<script", "<link", "src=", "@import", "url("] { XCTAssertFalse(html.contains(outside), outside) }
    }

    func testReportOfARunWithoutEvaluationOrSummary() throws {
        let dir = try train(["--no_eval"])
        var html = try RunReport.load(directory: dir).html()
        assertWellFormed(html, "--no_eval report")
        XCTAssertTrue(html.contains("0 evaluations (no evaluation"), html)
        XCTAssertTrue(html.contains("<tr><th>evaluation</th><td>none (--no_eval)</td></tr>"))
        XCTAssertEqual(svgs(html).filter { $0.contains("no data") }.count, 2, "test AUC and test loss are empty")
        // A run still going: metrics.jsonl alone.
        for name in ["summary.json", "flags.json"] { try FileManager.default.removeItem(atPath: dir + "/" + name) }
        html = try RunReport.load(directory: dir).html()
        assertWellFormed(html, "report of a run without summary.json")
        XCTAssertTrue(html.contains("No summary.json yet"))
        XCTAssertTrue(html.contains("No flags.json"))
    }

    func testUnusableDirectoriesAreErrorsNamingTheFile() throws {
        func message(_ dir: String) -> String {
            do { _ = try RunReport.load(directory: dir); return "no error" } catch { return error.description }
        }
        let dir = try temporaryDirectory()
        XCTAssertEqual(message(dir + "/nope"), "\(dir)/nope: no such directory")
        XCTAssertEqual(message(dir), "\(dir)/metrics.jsonl: no such file (is \(dir) an mmoe-train --output_dir?)")
        try "{\"type\":\"train\",\"step\":1,\"loss\":{\"a\":0.5}}\n{oops\n".write(toFile: dir + "/metrics.jsonl", atomically: true, encoding: .utf8)
        XCTAssertEqual(message(dir), "\(dir)/metrics.jsonl:2: not a JSON object")
        try "{\"type\":\"eval\",\"step\":1}\n".write(toFile: dir + "/metrics.jsonl", atomically: true, encoding: .utf8)
        XCTAssertEqual(message(dir), "\(dir)/metrics.jsonl:1: field \"loss\" is missing or not an object of per-task values")
        try "{\"type\":\"train\",\"step\":1,\"loss\":{\"a\":0.5}}\n".write(toFile: dir + "/metrics.jsonl", atomically: true, encoding: .utf8)
        try "[1]".write(toFile: dir + "/summary.json", atomically: true, encoding: .utf8)
        XCTAssertEqual(message(dir), "\(dir)/summary.json: not a JSON object")
    }

    func testRunCommandLine() throws {
        XCTAssertEqual(try ReportOptions.parse(["run", "some/dir"]).runDirectory, "some/dir")
        XCTAssertEqual(try ReportOptions.parse(["run", "some/dir"]).command, .run)
        func message(_ args: [String]) -> String {
            do { _ = try ReportOptions.parse(args) } catch { return error.message }
            return "no error"
        }
        XCTAssertEqual(message(["run"]), "run needs the run directory: mmoe-report run DIR")
        XCTAssertEqual(message(["run", "a", "b"]), "run takes one directory and no flags; got a b")
        XCTAssertTrue(ReportOptions.helpText.contains("mmoe-report run DIR"))
    }

    /// The page in a real browser: Chromium's screenshot of it is an image of the window's size and
    /// holds far more than the screenshot of an empty page. Skipped without Chromium.
    func testScreenshotInChromiumIsNotBlank() throws {
        guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("no chromium installed (apt-get install chromium)")
        }
        let dir = try train(["--gate_report"])
        let page = try RunReport.load(directory: dir).write()
        let blankPage = dir + "/blank.html"
        try "<!DOCTYPE html><html><body></body></html>".write(toFile: blankPage, atomically: true, encoding: .utf8)
        func screenshot(_ page: String) throws -> [UInt8] {
            let png = page + ".png"
            let p = Process()
            p.executableURL = URL(fileURLWithPath: chromium)
            p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=\(dir)/chromium-profile",
                           "--screenshot=\(png)", "--window-size=1200,2000", "file://\(page)"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            return [UInt8](try Data(contentsOf: URL(fileURLWithPath: png)))
        }
        let shot = try screenshot(page), blank = try screenshot(blankPage)
        XCTAssertEqual(Array(shot.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "a PNG")
        func be32(_ b: [UInt8], _ at: Int) -> Int { b[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
        XCTAssertEqual(be32(shot, 16), 1200, "width")
        XCTAssertEqual(be32(shot, 20), 2000, "height")
        // A white page compresses to a few kilobytes; text and charts do not.
        XCTAssertGreaterThan(shot.count, 10 * blank.count, "report \(shot.count) bytes, blank page \(blank.count) bytes")
    }
}
