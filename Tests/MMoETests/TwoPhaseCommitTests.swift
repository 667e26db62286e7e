import XCTest
import Foundation
@testable import MMoE

/// The two-phase commit of the durable row stores (`DurableRowStorage.prepare`), on both
/// engines: a prepared commit is not the store's state until it is finished; the store takes no
/// writes meanwhile; reopened with the commit unfinished, the store asks its opener whether the
/// commit's decision was made, and applies it (rows, removals, arrays, generation) or drops it.
final class TwoPhaseCommitTests: XCTestCase {
    static let width = 3

    typealias Open = (_ directory: String, _ finishing: (UInt64) -> Bool) throws -> any DurableRowStorage

    /// The journal with a compaction every 3 commits, and the file store with sparse keys.
    let engines: [(name: String, open: Open)] = [
        ("journal", { dir, finishing in
            try JournaledRowStorage(directory: dir, storage: MemoryRowStorage(width: TwoPhaseCommitTests.width), compactEvery: 3, finishing: finishing)
        }),
        ("file", { dir, finishing in
            try FileRowStorage(directory: dir, width: TwoPhaseCommitTests.width, keys: .sparse, cacheBudgetBytes: 1 << 20, finishing: finishing)
        }),
    ]

    /// `commits` commits of 5 keys each, then 5 more keys written, key 0 removed and the commit
    /// prepared and left unfinished (the process stops); returns the rows before and after it.
    func prepareUnfinished(_ open: Open, in dir: String, commits: Int) throws -> (committed: [UInt64: [Float]], prepared: [UInt64: [Float]]) {
        let store = try open(dir) { _ in false }
        var reference: [UInt64: [Float]] = [:]
        for c in 0..<commits {
            let keys = (0..<5).map { UInt64(c * 10 + $0) }
            let records = keys.flatMap { RowFixtures.record($0, version: c, width: Self.width) }
            try store.write(keys, records)
            for k in keys { reference[k] = RowFixtures.record(k, version: c, width: Self.width) }
            try store.commit(arrays: ["c": [UInt64(c)]])
        }
        let committed = reference
        let keys = (100..<105).map(UInt64.init)
        try store.write(keys, keys.flatMap { RowFixtures.record($0, version: 9, width: Self.width) })
        for k in keys { reference[k] = RowFixtures.record(k, version: 9, width: Self.width) }
        if commits > 0 {
            try store.remove([0])
            reference[0] = nil
        }
        try store.prepare(arrays: ["c": [99]])
        XCTAssertEqual(store.generation, UInt64(commits), "a prepared commit is not the last commit yet")
        XCTAssertThrowsError(try store.write([7], RowFixtures.record(7, version: 1, width: Self.width))) {
            XCTAssertTrue("\($0)".contains("prepared commit is not finished"), "\($0)")
        }
        return (committed, reference)
    }

    func testUnfinishedPreparedCommitIsAppliedOrDroppedOnReopen() throws {
        for engine in engines {
            // The journal's prepared commit is a full save (first commit), a delta, and a compaction.
            for commits in [0, 1, 3] {
                for decided in [false, true] {
                    let what = "\(engine.name), \(commits) commits before, decision \(decided)"
                    let dir = RowFixtures.scratchDirectory("two-phase")
                    defer { try? FileManager.default.removeItem(atPath: dir) }
                    let (committed, prepared) = try prepareUnfinished(engine.open, in: dir, commits: commits)
                    var asked: [UInt64] = []
                    do {
                        let reopened = try engine.open(dir) { asked.append($0); return decided }
                        XCTAssertEqual(asked, [UInt64(commits + 1)], what)
                        XCTAssertEqual(reopened.generation, UInt64(decided ? commits + 1 : commits), what)
                        XCTAssertEqual(try RowFixtures.contents(reopened), decided ? prepared : committed, what)
                        XCTAssertEqual(reopened.committedArrays, decided ? ["c": [99]] : commits == 0 ? [:] : ["c": [UInt64(commits - 1)]], what)
                    }
                    // Resolved once: the next open finds no prepared commit and the same rows.
                    let again = try engine.open(dir) { _ in XCTFail("\(what): asked again"); return false }
                    XCTAssertEqual(try RowFixtures.contents(again), decided ? prepared : committed, what)
                }
            }
        }
    }

    func testFinishedPrepareIsACommit() throws {
        for engine in engines {
            let dir = RowFixtures.scratchDirectory("two-phase")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            do {
                let store = try engine.open(dir) { _ in false }
                try store.write([1, 2], RowFixtures.record(1, version: 0, width: Self.width) + RowFixtures.record(2, version: 0, width: Self.width))
                try store.prepare(arrays: ["step": [4]])
                XCTAssertThrowsError(try store.prepare(arrays: ["step": [4]]), engine.name)
                try store.finishPrepared()
                XCTAssertEqual(store.generation, 1, engine.name)
                XCTAssertEqual(store.committedArrays, ["step": [4]], engine.name)
                XCTAssertThrowsError(try store.finishPrepared(), "\(engine.name): nothing left to finish")
                try store.write([3], RowFixtures.record(3, version: 0, width: Self.width))
            }
            let reopened = try engine.open(dir) { _ in XCTFail("\(engine.name): no prepared commit is left"); return false }
            XCTAssertEqual(try RowFixtures.contents(reopened), [1: RowFixtures.record(1, version: 0, width: Self.width),
                                                                2: RowFixtures.record(2, version: 0, width: Self.width)], engine.name)
        }
    }
}
