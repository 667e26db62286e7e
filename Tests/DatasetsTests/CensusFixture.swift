import Foundation
import XCTest
import Datasets

/// Raw Census lines and temporary directories for the reader tests, so they run without the shared
/// data.
enum CensusFixture {
    /// A real row (the first of the shared sample), to be varied field by field.
    static let base = "65, Not in universe, 0, 0, High school graduate, 0, Not in universe, Married-civilian spouse present, Not in universe or children, Not in universe, White, All other, Male, Not in universe, Not in universe, Not in labor force, 0, 0, 0, Joint one under 65 & one 65+, Not in universe, Not in universe, Spouse of householder, Spouse of householder, 2259.6, ?, ?, ?, Not in universe under 1 year old, ?, 0, Not in universe, United-States, United-States, United-States, Native- Born in the United States, 0, Not in universe, 2, 0, 95, - 50000"
        .components(separatedBy: ", ")

    /// One raw line: `base` with the named fields replaced, closed by a full stop unless told not to.
    static func line(_ overrides: [String: String] = [:], fullStop: Bool = true) -> String {
        var fields = base
        for (name, value) in overrides {
            guard let i = CensusIncome.columnNames.firstIndex(of: name) else { fatalError("no column \(name)") }
            fields[i] = value
        }
        return fields.joined(separator: ", ") + (fullStop ? "." : "")
    }

    /// A fresh directory, removed when the test ends.
    static func directory(_ test: XCTestCase) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("census-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    /// Writes `census-income.data` and `census-income.test` (joined with `separator`) into a fresh
    /// directory and returns it.
    static func write(_ test: XCTestCase, train: [String], test testLines: [String], separator: String = "\n") throws -> String {
        let dir = try directory(test)
        try write(train.joined(separator: separator) + separator, to: dir + "/census-income.data")
        try write(testLines.joined(separator: separator) + separator, to: dir + "/census-income.test")
        return dir
    }

    static func write(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    static var gzipAvailable: Bool { (try? run(["gzip", "--version"])) == 0 }

    /// Compresses `path` in place to `path.gz`, as gzip does.
    static func gzip(_ path: String) throws {
        guard try run(["gzip", "-f", path]) == 0 else { throw DatasetError(file: path, "gzip failed") }
    }

    @discardableResult
    static func run(_ arguments: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// The error `body` throws, failing the test when it throws none.
    static func error(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> DatasetError? {
        do {
            try body()
            XCTFail("expected a DatasetError", file: file, line: line)
        } catch let e as DatasetError {
            return e
        } catch {
            XCTFail("expected a DatasetError, got \(error)", file: file, line: line)
        }
        return nil
    }
}

extension TabularData {
    func labels(row i: Int) -> [Float] { Array(labels[i * taskCount ..< (i + 1) * taskCount]) }
    func dense(row i: Int) -> [Float] { Array(dense[i * denseWidth ..< (i + 1) * denseWidth]) }
    func id(row i: Int, field f: Int) -> Int { Int(ids[i * fieldCount + f]) }
}
