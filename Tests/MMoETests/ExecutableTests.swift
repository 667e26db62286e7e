import XCTest
import Foundation

/// The `mmoe-train` binary itself: exit codes and where messages go. Skipped when the binary is
/// not next to the test bundle (it is after `swift build` / `swift test`).
final class ExecutableTests: XCTestCase {
    func binary() throws -> URL {
        // On Linux the bundle URL is the build directory itself; elsewhere the .xctest inside it.
        let bundle = Bundle(for: Self.self).bundleURL
        for dir in [bundle, bundle.deletingLastPathComponent()] {
            let url = dir.appendingPathComponent("mmoe-train")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        throw XCTSkip("no mmoe-train binary next to the tests in \(bundle.path)")
    }

    func run(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = try binary()
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    func testExitCodes() throws {
        let help = try run(["--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.out.contains("--table_size_array"))

        let unknown = try run(["--num_expert", "3"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.err.hasPrefix("mmoe-train: unknown flag --num_expert"), unknown.err)
        XCTAssertTrue(unknown.out.isEmpty)

        let badValue = try run(["--batch_size", "many"])
        XCTAssertEqual(badValue.status, 2)
        XCTAssertTrue(badValue.err.contains("--batch_size"), badValue.err)

        let missing = try run(["--data_dir", "/nonexistent/census"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.err.contains("--data_dir /nonexistent/census: no such directory"), missing.err)
    }
}
