import XCTest
import Foundation
import Tensor
@testable import MMoE

/// `FileRowStorage` against a plain Dictionary: random operations under a cache of a few records
/// (so nearly every operation evicts), commits and reopens, a table fifty times its budget, and
/// the memory accounting.
final class FileRowStorageTests: XCTestCase {
    func testCRC32CKnownVectors() {
        // RFC 3720 B.4: 32 bytes of zeros, of 0xFF, and 0x00...0x1F.
        XCTAssertEqual(CRC32C.of([UInt32](repeating: 0, count: 8), count: 8), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.of([UInt32](repeating: 0xFFFF_FFFF, count: 8), count: 8), 0x62A8_AB43)
        var ascending = [UInt32](repeating: 0, count: 8)
        for byte in 0..<32 { ascending[byte / 4] |= UInt32(byte) << UInt32(8 * (byte % 4)) }
        XCTAssertEqual(CRC32C.of(ascending, count: 8), 0x46DD_794E)
    }

    /// A random mix of reads, writes and removes (and commits, reopens, and drops without commit)
    /// with a cache of 5 records, against a Dictionary; in both key modes.
    func testRandomOperationsMatchDictionary() throws {
        for dense in [true, false] {
            let dir = RowFixtures.scratchDirectory("random")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let width = 3, keySpace: UInt64 = 300
            let keys: FileRowStorage.Keys = dense ? .dense(capacity: Int(keySpace)) : .sparse
            let budget = 5 * FileRowStorage.frameBytes(width: width)
            func open() throws -> FileRowStorage { try FileRowStorage(directory: dir, width: width, keys: keys, cacheBudgetBytes: budget) }
            // Sparse keys spread over the whole 64-bit range.
            func key(_ r: UInt64) -> UInt64 { dense ? r : r &* 0x9E37_79B9_7F4A_7C15 }
            var store: FileRowStorage? = try open()
            XCTAssertEqual(store!.cacheCapacity, 5)
            var reference: [UInt64: [Float]] = [:], committed: [UInt64: [Float]] = [:]
            var rng = SeededRNG(seed: dense ? 1 : 2)
            var hits = 0, misses = 0
            for step in 0..<2000 {
                let batch = (0..<(1 + Int(rng.next() % 12))).map { _ in key(rng.next() % keySpace) }
                switch rng.next() % 100 {
                case 0..<40:
                    try RowFixtures.assertReads(store!, batch, match: reference)
                case 40..<75:
                    let distinct = Array(Set(batch)).sorted()
                    var records: [Float] = []
                    for k in distinct {
                        let r = RowFixtures.record(k, version: step, width: width)
                        reference[k] = r
                        records += r
                    }
                    try store!.write(distinct, records)
                case 75..<92:
                    try store!.remove(batch)
                    for k in batch { reference[k] = nil }
                case 92..<94:
                    try store!.commit()
                    committed = reference
                case 94:
                    try store!.commit()
                    committed = reference
                    let generation = store!.generation
                    (hits, misses) = (hits + store!.hits, misses + store!.misses)
                    store = nil
                    store = try open()
                    XCTAssertEqual(store!.generation, generation)
                case 95:
                    // A crash: whatever was not committed is gone.
                    (hits, misses) = (hits + store!.hits, misses + store!.misses)
                    store = nil
                    store = try open()
                    reference = committed
                default:
                    XCTAssertEqual(try RowFixtures.contents(store!), reference, "scan at step \(step)")
                }
                XCTAssertEqual(store!.count, reference.count, "step \(step)")
                XCTAssertLessThanOrEqual(store!.cacheBytes, budget)
            }
            XCTAssertEqual(try RowFixtures.contents(store!), reference)
            (hits, misses) = (hits + store!.hits, misses + store!.misses)
            XCTAssertGreaterThan(misses, 1000, "the cache should have been too small for the table")
            XCTAssertGreaterThan(hits, 0)
        }
    }

    /// A 1 MB budget and ~50 MB of records (400,000 records of 32 Floats): written, committed,
    /// reopened and read back exactly, with the cache within the budget all along.
    func testTableFiftyTimesTheBudget() throws {
        let dir = RowFixtures.scratchDirectory("large")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let width = 32, rows = 400_000, budget = 1 << 20
        var store: FileRowStorage? = try FileRowStorage(directory: dir, width: width, keys: .dense(capacity: rows), cacheBudgetBytes: budget)
        XCTAssertGreaterThan(rows * width * 4, 48 * budget)
        func value(_ key: Int, _ j: Int) -> Float { Float(key) + Float(j) / 64 }
        let batch = 4096
        for start in stride(from: 0, to: rows, by: batch) {
            let keys = (start..<min(rows, start + batch)).map { UInt64($0) }
            var records = [Float](repeating: 0, count: keys.count * width)
            for (i, k) in keys.enumerated() { for j in 0..<width { records[i * width + j] = value(Int(k), j) } }
            try store!.write(keys, records)
            XCTAssertLessThanOrEqual(store!.cacheBytes, budget)
        }
        try store!.commit()
        XCTAssertEqual(store!.lastCommitRecords, rows)
        store = nil
        store = try FileRowStorage(directory: dir, width: width, keys: .dense(capacity: rows), cacheBudgetBytes: budget)
        XCTAssertEqual(store!.count, rows)
        var rng = SeededRNG(seed: 3)
        var checked = 0
        for _ in 0..<40 {
            let keys = Array(Set((0..<2048).map { _ in rng.next() % UInt64(rows) }))
            var records = [Float](repeating: .nan, count: keys.count * width)
            var found = [Bool](repeating: false, count: keys.count)
            try store!.read(keys, into: &records, found: &found)
            for (i, k) in keys.enumerated() {
                XCTAssertTrue(found[i])
                for j in 0..<width where records[i * width + j] != value(Int(k), j) {
                    XCTFail("key \(k) element \(j): \(records[i * width + j])")
                    return
                }
            }
            checked += keys.count
        }
        XCTAssertGreaterThan(checked, 70_000)
        // A full scan sees every record and leaves the cache within the budget.
        var scanned = 0, sum = 0.0
        try store!.scan(chunk: 10_000) { keys, records in
            scanned += keys.count
            for (i, k) in keys.enumerated() { sum += Double(records[i * width + 1] - value(Int(k), 1)) }
        }
        XCTAssertEqual(scanned, rows)
        XCTAssertEqual(sum, 0)
        XCTAssertLessThanOrEqual(store!.cacheBytes, budget)
        XCTAssertLessThanOrEqual(store!.residentBytes, budget + store!.indexBytes + store!.pendingBytes)
        XCTAssertLessThanOrEqual(store!.indexBytes, rows / 8 + 64, "dense keys: one presence bit per row")
    }

    /// Resident bytes stay within the budget plus the index after writes, reads and a scan, and
    /// the index is what the docs say it is (sparse keys: tens of bytes per record).
    func testResidentBytesWithinBudgetPlusIndex() throws {
        let dir = RowFixtures.scratchDirectory("resident")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let width = 8, budget = 64 * 1024, n = 20_000
        let store = try FileRowStorage(directory: dir, width: width, keys: .sparse, cacheBudgetBytes: budget)
        let keys = (0..<UInt64(n)).map { $0 &* 0x9E37_79B9_7F4A_7C15 }
        try store.write(keys, [Float](repeating: 1, count: n * width))
        XCTAssertGreaterThan(store.pendingBytes, 0, "evicted changes are indexed until the commit")
        try store.commit()
        XCTAssertEqual(store.pendingBytes, 0)
        var records = [Float](repeating: 0, count: n * width)
        var found = [Bool](repeating: false, count: n)
        try store.read(keys.shuffled(), into: &records, found: &found)
        XCTAssertTrue(found.allSatisfy { $0 })
        _ = try RowFixtures.contents(store, chunk: 1000)
        XCTAssertLessThanOrEqual(store.cacheBytes, budget)
        XCTAssertGreaterThan(store.cacheBytes, budget / 2, "the cache should fill its budget")
        XCTAssertEqual(store.residentBytes, store.cacheBytes + store.indexBytes)
        XCTAssertGreaterThan(store.indexBytes, n * 12)
        XCTAssertLessThan(store.indexBytes, n * 50)
        XCTAssertLessThan(store.residentBytes, n * width * 4, "less than the table itself")
    }

    func testMisuseGivesClearErrors() throws {
        let dir = RowFixtures.scratchDirectory("misuse")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try FileRowStorage(directory: dir, width: 4, keys: .dense(capacity: 10), cacheBudgetBytes: 4096)
        XCTAssertTrue(RowFixtures.error { try store.write([10], [1, 2, 3, 4]) }.contains("outside the dense table's 10 rows"))
        try store.write([3], [1, 2, 3, 4])
        try store.commit()
        // A second opener (even in this process) is refused while the first holds the lock.
        XCTAssertTrue(RowFixtures.error { try FileRowStorage(directory: dir, width: 4, keys: .dense(capacity: 10), cacheBudgetBytes: 4096) }
            .contains("in use by another process"))
        XCTAssertTrue(RowFixtures.error { try FileRowStorage(directory: dir + "-x", width: 4, keys: .sparse, cacheBudgetBytes: 10) }
            .contains("holds no record"))
        try? FileManager.default.removeItem(atPath: dir + "-x")
    }

    func testReopenWithOtherShapeNamesTheFile() throws {
        let dir = RowFixtures.scratchDirectory("shape")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let store = try FileRowStorage(directory: dir, width: 4, keys: .dense(capacity: 10), cacheBudgetBytes: 4096)
            try store.write([3], [1, 2, 3, 4])
            try store.commit(arrays: ["filter": [1, 2, 3]])
        }
        let wrongWidth = RowFixtures.error { try FileRowStorage(directory: dir, width: 5, keys: .dense(capacity: 10), cacheBudgetBytes: 4096) }
        XCTAssertTrue(wrongWidth.contains("rows.dat") && wrongWidth.contains("width 4") && wrongWidth.contains("width 5"), wrongWidth)
        let wrongKeys = RowFixtures.error { try FileRowStorage(directory: dir, width: 4, keys: .sparse, cacheBudgetBytes: 4096) }
        XCTAssertTrue(wrongKeys.contains("sparse"), wrongKeys)
        let store = try FileRowStorage(directory: dir, width: 4, keys: .dense(capacity: 10), cacheBudgetBytes: 4096)
        XCTAssertEqual(store.committedArrays, ["filter": [1, 2, 3]])
        XCTAssertEqual(store.generation, 1)
        try RowFixtures.assertReads(store, [3, 4], match: [3: [1, 2, 3, 4]])
    }

    /// Each commit writes only the records changed since the previous one, and a store built by
    /// many increments reopens equal to a full snapshot of the same history kept in memory.
    func testIncrementalCommitsEqualFullSnapshot() throws {
        for dense in [true, false] {
            let dir = RowFixtures.scratchDirectory("incremental")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let width = 4, keySpace: UInt64 = 2000
            let keys: FileRowStorage.Keys = dense ? .dense(capacity: Int(keySpace)) : .sparse
            let budget = 50 * FileRowStorage.frameBytes(width: width)
            var store: FileRowStorage? = try FileRowStorage(directory: dir, width: width, keys: keys, cacheBudgetBytes: budget)
            let memory = MemoryRowStorage(width: width)
            var rng = SeededRNG(seed: 7)
            for step in 0..<40 {
                var changed = Set<UInt64>()
                for _ in 0..<(1 + rng.next() % 60) {
                    let k = rng.next() % keySpace
                    if rng.next() % 5 == 0 {
                        try store!.remove([k]); try memory.remove([k])
                    } else {
                        let r = RowFixtures.record(k, version: step, width: width)
                        try store!.write([k], r); try memory.write([k], r)
                    }
                    changed.insert(k)
                }
                try store!.commit(arrays: ["step": [UInt64(step)]])
                XCTAssertLessThanOrEqual(store!.lastCommitRecords, changed.count, "an increment holds only changed records")
                if step % 10 == 9 {
                    store = nil
                    store = try FileRowStorage(directory: dir, width: width, keys: keys, cacheBudgetBytes: budget)
                }
            }
            store = nil
            store = try FileRowStorage(directory: dir, width: width, keys: keys, cacheBudgetBytes: budget)
            XCTAssertEqual(store!.committedArrays, ["step": [39]])
            let full = dir + "/full.snapshot", fromFile = dir + "/fromfile.snapshot"
            try RowSnapshot.save(memory, arrays: ["step": [39]], to: full)
            try RowSnapshot.save(store!, arrays: store!.committedArrays, to: fromFile)
            let a = MemoryRowStorage(width: width), b = MemoryRowStorage(width: width)
            let arraysA = try RowSnapshot.load(into: a, from: full)
            let arraysB = try RowSnapshot.load(into: b, from: fromFile)
            XCTAssertEqual(arraysA, arraysB)
            XCTAssertEqual(try RowFixtures.contents(a), try RowFixtures.contents(b))
            XCTAssertEqual(try RowFixtures.contents(a), try RowFixtures.contents(store!))
        }
    }
}
