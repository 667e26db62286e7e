import XCTest
import Foundation

/// Issue 19 through the binaries: a failed write to standard output is an exit status, not a trap.
final class HardeningExecutableTests: XCTestCase {
    func binary(_ name: String) throws -> URL {
        let bundle = Bundle(for: Self.self).bundleURL
        for dir in [bundle, bundle.deletingLastPathComponent()] {
            let url = dir.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        throw XCTSkip("no \(name) binary next to the tests in \(bundle.path)")
    }

    /// Defect 4: `mmoe-predict --output - > /dev/full` exits 1 or 2 with a message, not on a signal.
    func testPredictToAFullStandardOutputFailsCleanly() throws {
        guard let full = FileHandle(forWritingAtPath: "/dev/full") else { throw XCTSkip("no /dev/full") }
        let predict = try binary("mmoe-predict")
        let data = try PredictFixture.censusDirectory(self, testRows: 30)
        let (checkpoint, _) = try PredictFixture.train(self, data: data)
        let p = Process()
        p.executableURL = predict
        p.arguments = ["--model_load_dir", checkpoint, "--input", data + "/census-income.test", "--output", "-"]
        let err = Pipe()
        p.standardOutput = full
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .exit, message)
        XCTAssertTrue([1, 2].contains(p.terminationStatus), "status \(p.terminationStatus): \(message)")
        XCTAssertTrue(message.contains("standard output"), message)
    }
}
