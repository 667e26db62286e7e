import XCTest
import Foundation
import Tensor
@testable import MMoE

/// A `FileRowStorage` stopped at every step of a commit, and its files cut short, bit-flipped or
/// replaced, then reopened: the result is the last complete commit, or an error naming the
/// damaged file, and never rows that were not committed.
final class FileRowStorageCrashTests: XCTestCase {
    static let width = 3
    static let stages: [CommitStage] = [.logWritten, .logRenamed, .halfApplied, .applied]

    /// A store with commit A (keys 0..<100, arrays a=[1]) and uncommitted changes B (keys 50..<150
    /// rewritten, 0..<20 removed, arrays a=[2]) made through a 6-record cache, so B lives partly in
    /// the spill file. Returns the open store and the two states.
    func makeStates(_ dir: String, dense: Bool) throws -> (FileRowStorage, a: [UInt64: [Float]], b: [UInt64: [Float]]) {
        let w = Self.width
        let store = try open(dir, dense: dense)
        var a: [UInt64: [Float]] = [:]
        for k in 0..<UInt64(100) { a[k] = RowFixtures.record(k, version: 1, width: w) }
        try store.write(Array(a.keys).sorted(), Array(a.keys).sorted().flatMap { a[$0]! })
        try store.commit(arrays: ["a": [1]])
        var b = a
        for k in 50..<UInt64(150) { b[k] = RowFixtures.record(k, version: 2, width: w) }
        try store.write(Array(50..<UInt64(150)), (50..<UInt64(150)).flatMap { b[$0]! })
        try store.remove(Array(0..<UInt64(20)))
        for k in 0..<UInt64(20) { b[k] = nil }
        return (store, a, b)
    }

    func open(_ dir: String, dense: Bool) throws -> FileRowStorage {
        try FileRowStorage(directory: dir, width: Self.width, keys: dense ? .dense(capacity: 200) : .sparse,
                           cacheBudgetBytes: 6 * FileRowStorage.frameBytes(width: Self.width))
    }

    /// Leaves `dir` as a crash at `stage` of committing B leaves it.
    func crash(_ dir: String, dense: Bool, at stage: CommitStage) throws -> (a: [UInt64: [Float]], b: [UInt64: [Float]]) {
        let (store, a, b) = try makeStates(dir, dense: dense)
        store.simulatedCrash = stage
        XCTAssertTrue(RowFixtures.error { try store.commit(arrays: ["a": [2]]) }.contains("simulated crash"))
        XCTAssertTrue(RowFixtures.error { try RowFixtures.contents(store) }.contains("unusable"), "a failed commit must stop the store")
        return (a, b)
    }

    func testCrashAtEveryCommitStageRecoversACompleteCommit() throws {
        for dense in [true, false] {
            for stage in Self.stages {
                let dir = RowFixtures.scratchDirectory("stage")
                defer { try? FileManager.default.removeItem(atPath: dir) }
                let (a, b) = try crash(dir, dense: dense, at: stage)
                let committed = stage != .logWritten
                let store = try open(dir, dense: dense)
                XCTAssertEqual(try RowFixtures.contents(store), committed ? b : a, "\(stage) dense \(dense)")
                XCTAssertEqual(store.committedArrays, ["a": [committed ? 2 : 1]])
                XCTAssertEqual(store.generation, committed ? 2 : 1)
                XCTAssertFalse(RowFixtures.exists(dir + "/commit.wal"), "the log is applied and retired at open")
                XCTAssertFalse(RowFixtures.exists(dir + "/commit.wal.partial"))
                // And the store goes on working.
                try store.write([7], [1, 2, 3])
                try store.commit()
                try RowFixtures.assertReads(store, [7, 30, 120], match: (committed ? b : a).merging([7: [1, 2, 3]]) { $1 })
            }
        }
    }

    /// A commit log cut short or bit-flipped after the commit point: the commit cannot be
    /// recovered, so opening fails and names the log.
    func testDamagedCommitLogFailsNamingIt() throws {
        for dense in [true, false] {
            for stage in [CommitStage.logRenamed, .halfApplied] {
                let pristine = RowFixtures.scratchDirectory("log")
                defer { try? FileManager.default.removeItem(atPath: pristine) }
                _ = try crash(pristine, dense: dense, at: stage)
                let size = RowFixtures.size(pristine + "/commit.wal")
                XCTAssertGreaterThan(size, 200)
                let work = pristine + "-work"
                defer { try? FileManager.default.removeItem(atPath: work) }
                let cuts = [0, 3, 4, 63, 64, 65, 100, size / 2, size - 9, size - 8, size - 5, size - 4, size - 1]
                let flips = [0, 9, 20, 64, 64 + 13, size / 2, size - 17, size - 10, size - 6, size - 1]
                for damage in cuts.map({ (true, $0) }) + flips.map({ (false, $0) }) {
                    try RowFixtures.copyDirectory(pristine, to: work)
                    if damage.0 { try RowFixtures.truncate(work + "/commit.wal", to: damage.1) } else { try RowFixtures.flipBit(work + "/commit.wal", at: damage.1) }
                    let message = RowFixtures.error { try self.open(work, dense: dense) }
                    XCTAssertTrue(message.contains("commit.wal") && message.contains("cannot be recovered"), "\(damage): \(message)")
                }
            }
        }
    }

    /// A crash before the commit point leaves a half-written `.partial` log (and perhaps other
    /// temporaries): they are deleted at open and the previous commit is intact.
    func testHalfWrittenTemporaryFilesAreIgnored() throws {
        for dense in [true, false] {
            let dir = RowFixtures.scratchDirectory("partial")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let (a, _) = try crash(dir, dense: dense, at: .logWritten)
            let partial = dir + "/commit.wal.partial"
            try RowFixtures.truncate(partial, to: RowFixtures.size(partial) / 2 + 1)
            for junk in ["rows.dat.partial", "arrays.dat.partial"] {
                try Data("half a file".utf8).write(to: URL(fileURLWithPath: dir + "/" + junk))
            }
            let store = try open(dir, dense: dense)
            XCTAssertEqual(try RowFixtures.contents(store), a)
            XCTAssertEqual(store.committedArrays, ["a": [1]])
            for junk in ["commit.wal.partial", "rows.dat.partial", "arrays.dat.partial"] {
                XCTAssertFalse(RowFixtures.exists(dir + "/" + junk), junk)
            }
        }
    }

    /// Damage to the data file or the arrays file of a committed store: an error naming the file
    /// (and the slot, for a record), never different rows.
    func testDamagedDataFileFailsNamingIt() throws {
        for dense in [true, false] {
            let pristine = RowFixtures.scratchDirectory("data")
            defer { try? FileManager.default.removeItem(atPath: pristine) }
            let (store, _, _) = try makeStates(pristine, dense: dense)
            try store.commit(arrays: ["a": [2]])
            let b = try RowFixtures.contents(store)
            _ = consume store
            let work = pristine + "-work"
            defer { try? FileManager.default.removeItem(atPath: work) }
            let rows = work + "/rows.dat"
            let size = RowFixtures.size(pristine + "/rows.dat")
            let slotBytes = (4 + Self.width) * 4
            let header = 64
            // Slot 30's key, tag, checksum and a value; slot 5 (emptied in dense, free in sparse).
            var damages: [(String, (String) throws -> Void)] = []
            for offset in [header + 30 * slotBytes, header + 30 * slotBytes + 8, header + 30 * slotBytes + 12, header + 30 * slotBytes + 20,
                           header + 5 * slotBytes + 16] {
                damages.append(("flip \(offset)", { try RowFixtures.flipBit($0, at: offset) }))
            }
            for offset in [0, 12, 40, 60] { damages.append(("flip header \(offset)", { try RowFixtures.flipBit($0, at: offset) })) }
            for cut in [0, 10, 63, 64, header + 3 * slotBytes + 5, size - slotBytes, size - 1] {
                damages.append(("cut \(cut)", { try RowFixtures.truncate($0, to: cut) }))
            }
            damages.append(("foreign", { try Data(repeating: 0x41, count: size).write(to: URL(fileURLWithPath: $0)) }))
            for (name, damage) in damages {
                try RowFixtures.copyDirectory(pristine, to: work)
                try damage(rows)
                let message = RowFixtures.error { try self.open(work, dense: dense) }
                XCTAssertTrue(message.contains("rows.dat"), "\(name) dense \(dense): \(message)")
            }
            for (name, damage) in [("flip", { (p: String) throws in try RowFixtures.flipBit(p, at: 30) }),
                                   ("cut", { (p: String) throws in try RowFixtures.truncate(p, to: 20) }),
                                   ("delete", { (p: String) throws in try FileManager.default.removeItem(atPath: p) })] {
                try RowFixtures.copyDirectory(pristine, to: work)
                try damage(work + "/arrays.dat")
                let message = RowFixtures.error { try self.open(work, dense: dense) }
                XCTAssertTrue(message.contains("arrays.dat"), "\(name): \(message)")
            }
            // Undamaged, it opens to B.
            try RowFixtures.copyDirectory(pristine, to: work)
            XCTAssertEqual(try RowFixtures.contents(try open(work, dense: dense)), b)
        }
    }

    /// A torn header write during the apply step is repaired from the committed log.
    func testCommittedLogRepairsATornHeader() throws {
        let dir = RowFixtures.scratchDirectory("torn")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (_, b) = try crash(dir, dense: false, at: .halfApplied)
        try RowFixtures.flipBit(dir + "/rows.dat", at: 44)
        let store = try open(dir, dense: false)
        XCTAssertEqual(try RowFixtures.contents(store), b)
    }
}

extension RowFixtures {
    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }
}
