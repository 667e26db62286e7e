import XCTest
import Foundation
import Tensor
@testable import MMoE

/// `JournaledRowStorage` (an in-memory table with incremental saves) against a Dictionary: commits,
/// compactions, reopens and crashes, and every missing or damaged file named.
final class JournaledRowStorageTests: XCTestCase {
    static let width = 3

    func open(_ dir: String) throws -> JournaledRowStorage {
        try JournaledRowStorage(directory: dir, storage: MemoryRowStorage(width: Self.width), compactEvery: 4)
    }

    func testIncrementalCommitsReopenToTheLastCommit() throws {
        let dir = RowFixtures.scratchDirectory("journal")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var store = try open(dir)
        var reference: [UInt64: [Float]] = [:], committed: [UInt64: [Float]] = [:]
        var rng = SeededRNG(seed: 4)
        var fulls = 0, increments = 0
        for step in 0..<60 {
            var touched = Set<UInt64>()
            for _ in 0..<(1 + rng.next() % 30) {
                let k = rng.next() % 500
                touched.insert(k)
                if rng.next() % 4 == 0 {
                    try store.remove([k])
                    reference[k] = nil
                } else {
                    let r = RowFixtures.record(k, version: step, width: Self.width)
                    try store.write([k], r)
                    reference[k] = r
                }
            }
            switch rng.next() % 10 {
            case 0:  // a crash: the uncommitted steps are lost
                store = try open(dir)
                reference = committed
            case 1, 2:
                try store.commit(arrays: ["step": [UInt64(step)]])
                committed = reference
                store = try open(dir)
                XCTAssertEqual(store.committedArrays, ["step": [UInt64(step)]])
            default:
                try store.commit(arrays: ["step": [UInt64(step)]])
                committed = reference
                if store.lastCommitWasFull { fulls += 1 } else {
                    increments += 1
                    XCTAssertLessThanOrEqual(store.lastCommitRecords, touched.count + 30, "an increment holds the changed keys only")
                }
            }
            XCTAssertEqual(try RowFixtures.contents(store), reference, "step \(step)")
        }
        XCTAssertGreaterThan(fulls, 2)
        XCTAssertGreaterThan(increments, 10)
        // Increments + reopen equal a full snapshot of the same state.
        try store.commit(arrays: [:])
        let reopened = try open(dir)
        let full = dir + "/check.snapshot"
        try RowSnapshot.save(reopened, to: full)
        let fromFull = MemoryRowStorage(width: Self.width)
        try RowSnapshot.load(into: fromFull, from: full)
        XCTAssertEqual(try RowFixtures.contents(fromFull), reference)
        XCTAssertTrue(RowFixtures.error { try reopened.commit(arrays: ["__x": []]) }.contains("reserved"))
    }

    func testMissingStaleAndDamagedFiles() throws {
        let dir = RowFixtures.scratchDirectory("journalfiles")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let work = dir + "-work"
        defer { try? FileManager.default.removeItem(atPath: work) }
        var reference: [UInt64: [Float]] = [:]
        do {
            let store = try open(dir)
            for g in 1...6 {  // base at 1, deltas 2 3 4, base at 5, delta 6
                let k = UInt64(g)
                reference[k] = RowFixtures.record(k, version: g, width: Self.width)
                try store.write([k], reference[k]!)
                try store.commit(arrays: [:])
                if g == 3 { try FileManager.default.copyItem(atPath: dir + "/delta-3.rows", toPath: dir + "-stale-3") }
            }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["base.rows", "delta-6.rows"])
        // A compaction that crashed before deleting its deltas: the stale one is ignored and removed.
        try RowFixtures.copyDirectory(dir, to: work)
        try FileManager.default.copyItem(atPath: dir + "-stale-3", toPath: work + "/delta-3.rows")
        try Data("half".utf8).write(to: URL(fileURLWithPath: work + "/delta-7.rows.partial"))
        XCTAssertEqual(try RowFixtures.contents(try open(work)), reference)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work).sorted(), ["base.rows", "delta-6.rows"])
        // A gap in the deltas.
        try RowFixtures.copyDirectory(dir, to: work)
        try FileManager.default.moveItem(atPath: work + "/delta-6.rows", toPath: work + "/delta-7.rows")
        XCTAssertTrue(RowFixtures.error { try self.open(work) }.contains("delta-6.rows: missing"))
        // A damaged delta, a damaged base, a delta without a base.
        try RowFixtures.copyDirectory(dir, to: work)
        try RowFixtures.flipBit(work + "/delta-6.rows", at: 40)
        XCTAssertTrue(RowFixtures.error { try self.open(work) }.contains("delta-6.rows"))
        try RowFixtures.copyDirectory(dir, to: work)
        try RowFixtures.truncate(work + "/base.rows", to: 50)
        XCTAssertTrue(RowFixtures.error { try self.open(work) }.contains("base.rows"))
        try FileManager.default.removeItem(atPath: work + "/base.rows")
        XCTAssertTrue(RowFixtures.error { try self.open(work) }.contains("without its base"))
        try? FileManager.default.removeItem(atPath: dir + "-stale-3")
    }
}
