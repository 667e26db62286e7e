import XCTest
import Foundation

/// The `mmoe-predict` binary itself: exit codes, where the CSV and the messages go. Skipped when
/// the binary is not next to the test bundle (it is after `swift build` / `swift test`).
final class PredictExecutableTests: XCTestCase {
    func binary() throws -> URL {
        // On Linux the bundle URL is the build directory itself; elsewhere the .xctest inside it.
        let bundle = Bundle(for: Self.self).bundleURL
        for dir in [bundle, bundle.deletingLastPathComponent()] {
            let url = dir.appendingPathComponent("mmoe-predict")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        throw XCTSkip("no mmoe-predict binary next to the tests in \(bundle.path)")
    }

    func run(_ arguments: [String], stdin: Data? = nil) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = try binary()
        p.arguments = arguments
        let out = Pipe(), err = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = stdin == nil ? FileHandle.nullDevice : input
        try p.run()
        if let stdin {
            let writer = input.fileHandleForWriting
            DispatchQueue.global().async {
                writer.write(stdin)
                try? writer.close()
            }
        }
        // stderr carries a line or two, which the pipe holds while stdout is read to its end.
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    func testExitCodesAndOutput() throws {
        _ = try binary()
        let help = try run(["--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.out.contains("--model_load_dir") && help.out.contains("--eval"), help.out)

        let unknown = try run(["--model_dir", "x"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.err.hasPrefix("mmoe-predict: unknown flag --model_dir"), unknown.err)

        let missing = try run(["--model_load_dir", "/nonexistent/ckpt", "--input", "-"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertEqual(missing.err, "mmoe-predict: --model_load_dir /nonexistent/ckpt: no such directory\n")
        XCTAssertTrue(missing.out.isEmpty)

        let data = try PredictFixture.censusDirectory(self, testRows: 30)
        let (checkpoint, _) = try PredictFixture.train(self, data: data)
        let text = try String(contentsOfFile: data + "/census-income.test", encoding: .utf8)
        let ok = try run(["--model_load_dir", checkpoint, "--input", "-", "--eval"], stdin: Data(text.utf8))
        XCTAssertEqual(ok.status, 0, ok.err)
        let lines = ok.out.split(separator: "\n")
        XCTAssertEqual(lines.count, 31)
        XCTAssertEqual(lines.first, "income,marital")
        XCTAssertTrue(ok.err.contains("30 rows from stdin to stdout") && ok.err.contains("AUC_income"), ok.err)

        let bad = try run(["--model_load_dir", checkpoint, "--input", "-"], stdin: Data((text + "1, 2\n").utf8))
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.err.hasPrefix("mmoe-predict: stdin:31: found 2 fields"), bad.err)
    }
}
