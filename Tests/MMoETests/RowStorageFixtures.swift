import XCTest
import Foundation
import Tensor
@testable import MMoE

/// Shared helpers of the row-storage tests: scratch directories, deterministic records, and a
/// reference model (a plain Dictionary) to compare a backend against.
enum RowFixtures {
    static func scratchDirectory(_ name: String) -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmoe-rows-\(name)-\(UUID().uuidString)")
        return url.path
    }

    /// A record that depends on the key and a version, so a stale or misplaced record shows.
    static func record(_ key: UInt64, version: Int, width: Int) -> [Float] {
        (0..<width).map { j in Float(Int(key % 100_003) * 3 + j) * 0.25 + Float(version) }
    }

    /// Every record of `storage` through `scan`, as a dictionary.
    static func contents(_ storage: any RowStorage, chunk: Int = 7) throws -> [UInt64: [Float]] {
        var out: [UInt64: [Float]] = [:]
        let w = storage.width
        try storage.scan(chunk: chunk) { keys, records in
            XCTAssertLessThanOrEqual(keys.count, chunk)
            for (i, k) in keys.enumerated() {
                XCTAssertNil(out[k], "key \(k) scanned twice")
                out[k] = Array(records[(i * w)..<((i + 1) * w)])
            }
        }
        XCTAssertEqual(out.count, storage.count, "scan and count disagree")
        return out
    }

    /// Reads `keys` (distinct or not) and checks each against `reference`.
    static func assertReads(_ storage: any RowStorage, _ keys: [UInt64], match reference: [UInt64: [Float]],
                            file: StaticString = #filePath, line: UInt = #line) throws {
        let w = storage.width
        var records = [Float](repeating: .nan, count: keys.count * w)
        var found = [Bool](repeating: false, count: keys.count)
        try storage.read(keys, into: &records, found: &found)
        for (i, k) in keys.enumerated() {
            if let want = reference[k] {
                XCTAssertTrue(found[i], "key \(k) not found", file: file, line: line)
                XCTAssertEqual(Array(records[(i * w)..<((i + 1) * w)]), want, "key \(k)", file: file, line: line)
            } else {
                XCTAssertFalse(found[i], "key \(k) found but absent from the reference", file: file, line: line)
                XCTAssertTrue(records[(i * w)..<((i + 1) * w)].allSatisfy { $0.isNaN }, "absent key \(k)'s record was touched", file: file, line: line)
            }
        }
    }

    /// Flips one bit of byte `offset` of `path`.
    static func flipBit(_ path: String, at offset: Int) throws {
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data[offset] ^= 0x10
        try data.write(to: URL(fileURLWithPath: path))
    }

    static func truncate(_ path: String, to size: Int) throws {
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try h.truncate(atOffset: UInt64(size))
        try h.close()
    }

    static func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? -1
    }

    /// Copies directory `from` to a fresh `to` (for trying many damages on one state).
    static func copyDirectory(_ from: String, to: String) throws {
        try? FileManager.default.removeItem(atPath: to)
        try FileManager.default.copyItem(atPath: from, toPath: to)
    }

    /// Runs `body` and returns the RowStorageError it throws (failing when it throws none).
    static func error<T>(_ body: () throws -> T, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try body()
            XCTFail("expected an error", file: file, line: line)
            return ""
        } catch {
            return "\(error)"
        }
    }
}
