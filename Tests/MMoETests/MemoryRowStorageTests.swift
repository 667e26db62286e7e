import XCTest
@testable import MMoE
import Tensor

final class MemoryRowStorageTests: XCTestCase {
    /// A random mix of writes, overwrites, removals and reads against a Dictionary.
    func testMatchesADictionaryUnderRandomOperations() throws {
        let width = 3
        let storage = MemoryRowStorage(width: width)
        var reference: [UInt64: [Float]] = [:]
        var rng = SeededRNG(seed: 7)
        var reads = 0, hits = 0
        for round in 0..<2000 {
            let key = UInt64(rng.next() % 64)
            switch rng.next() % 4 {
            case 0, 1:
                let record = (0..<width).map { Float(round * width + $0) }
                try storage.write([key], record)
                reference[key] = record
            case 2:
                try storage.remove([key])
                reference[key] = nil
            default:
                var records = [Float](repeating: -1, count: width), found = [false]
                try storage.read([key], into: &records, found: &found)
                reads += 1
                if reference[key] != nil { hits += 1 }
                XCTAssertEqual(found[0], reference[key] != nil)
                XCTAssertEqual(records, reference[key] ?? [-1, -1, -1], "key \(key) at round \(round)")
            }
            XCTAssertEqual(storage.count, reference.count)
        }
        var scanned: [UInt64: [Float]] = [:]
        try storage.scan(chunk: 5) { keys, records in
            XCTAssertLessThanOrEqual(keys.count, 5)
            for (i, key) in keys.enumerated() {
                XCTAssertNil(scanned[key], "key \(key) scanned twice")
                scanned[key] = Array(records[(i * width)..<((i + 1) * width)])
            }
        }
        XCTAssertEqual(scanned, reference)
        XCTAssertEqual(storage.hits, hits)
        XCTAssertEqual(storage.misses, reads - hits)
    }
}
