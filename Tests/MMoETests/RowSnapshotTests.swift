import XCTest
import Foundation
import Tensor
@testable import MMoE

/// `RowSnapshot`: round trips between backends with named arrays, and every way a file can be
/// wrong, each refused with the file's name and the reason, the target storage left empty.
final class RowSnapshotTests: XCTestCase {
    static let width = 5

    func filled(_ n: Int) throws -> MemoryRowStorage {
        let storage = MemoryRowStorage(width: Self.width)
        let keys = (0..<UInt64(n)).map { $0 &* 0x9E37_79B9_7F4A_7C15 ^ 0xDEAD_BEEF }
        try storage.write(keys, keys.flatMap { RowFixtures.record($0, version: 3, width: Self.width) })
        try storage.remove(Array(keys.prefix(7)))  // free slots in the middle of the slab
        return storage
    }

    static let arrays: [String: [UInt64]] = ["counter.keys": [1, 2, UInt64.max], "counter.counts": [3, 1, 2], "empty": [], "größe": [42]]

    func testRoundTripBetweenBackends() throws {
        let dir = RowFixtures.scratchDirectory("snapshot")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let memory = try filled(10_000)
        let path = dir + "/table.rows"
        try RowSnapshot.save(memory, arrays: Self.arrays, to: path)
        // Into a file-backed store with a small cache, and back out of it.
        let file = try FileRowStorage(directory: dir + "/store", width: Self.width, keys: .sparse, cacheBudgetBytes: 8192)
        XCTAssertEqual(try RowSnapshot.load(into: file, from: path), Self.arrays)
        XCTAssertEqual(try RowFixtures.contents(file), try RowFixtures.contents(memory))
        try RowSnapshot.save(file, arrays: [:], to: path)  // replaces the first
        let again = MemoryRowStorage(width: Self.width)
        XCTAssertEqual(try RowSnapshot.load(into: again, from: path), [:])
        XCTAssertEqual(try RowFixtures.contents(again), try RowFixtures.contents(memory))
        XCTAssertFalse(RowFixtures.exists(path + ".partial"))
        // An empty storage round-trips too.
        try RowSnapshot.save(MemoryRowStorage(width: 2), to: path)
        let empty = MemoryRowStorage(width: 2)
        try RowSnapshot.load(into: empty, from: path)
        XCTAssertEqual(empty.count, 0)
    }

    /// Every cut and a bit flip in each part (header, records, arrays, trailer), a foreign file, a
    /// width mismatch, a non-empty target: each an error naming the file, the target untouched.
    func testEveryDamageIsRefusedWithTheFileNamed() throws {
        let dir = RowFixtures.scratchDirectory("snapdamage")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let good = dir + "/good.rows", bad = dir + "/bad.rows"
        try RowSnapshot.save(try filled(40), arrays: Self.arrays, to: good)
        let size = RowFixtures.size(good)
        let recordsEnd = 32 + 33 * (2 + Self.width) * 4
        func refused(_ expect: [String], _ label: String, target: MemoryRowStorage = MemoryRowStorage(width: RowSnapshotTests.width)) {
            let before = target.count
            let message = RowFixtures.error { try RowSnapshot.load(into: target, from: bad) }
            XCTAssertTrue(message.contains(bad), "\(label): \(message)")
            XCTAssertTrue(expect.contains { message.contains($0) }, "\(label): \(message)")
            XCTAssertEqual(target.count, before, "\(label): the target was changed")
        }
        for cut in Array(0..<12) + [31, 32, 33, 100, recordsEnd - 1, recordsEnd, recordsEnd + 9, size - 8, size - 5, size - 4, size - 1] {
            try FileManager.default.copyItem(atPath: good, toPath: bad)
            try RowFixtures.truncate(bad, to: cut)
            refused(["truncated", "foreign"], "cut \(cut)")
            try FileManager.default.removeItem(atPath: bad)
        }
        for flip in [12, 20, 33, 200, recordsEnd - 3, recordsEnd + 2, recordsEnd + 30, size - 12, size - 7] {
            try FileManager.default.copyItem(atPath: good, toPath: bad)
            try RowFixtures.flipBit(bad, at: flip)
            refused(["checksum mismatch", "version", "width"], "flip \(flip)")
            try FileManager.default.removeItem(atPath: bad)
        }
        for flip in [size - 3] {  // the end marker itself
            try FileManager.default.copyItem(atPath: good, toPath: bad)
            try RowFixtures.flipBit(bad, at: flip)
            refused(["end marker"], "flip \(flip)")
            try FileManager.default.removeItem(atPath: bad)
        }
        try Data(repeating: 7, count: 4000).write(to: URL(fileURLWithPath: bad))
        refused(["foreign"], "foreign")
        try FileManager.default.copyItem(atPath: good, toPath: bad + ".tmp")
        try FileManager.default.removeItem(atPath: bad)
        try FileManager.default.moveItem(atPath: bad + ".tmp", toPath: bad)
        refused(["width 5, but the storage has width 4"], "width", target: MemoryRowStorage(width: 4))
        let busy = MemoryRowStorage(width: Self.width)
        try busy.write([1], [1, 2, 3, 4, 5])
        refused(["empty storage"], "non-empty", target: busy)
        XCTAssertTrue(RowFixtures.error { try RowSnapshot.load(into: MemoryRowStorage(width: 1), from: dir + "/missing") }.contains("missing"))
    }

    /// A half-written `.partial` left by a crash during a save does not disturb the previous
    /// snapshot, and the next save replaces it.
    func testInterruptedSaveLeavesThePreviousSnapshot() throws {
        let dir = RowFixtures.scratchDirectory("snapcrash")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/t.rows"
        let original = try filled(100)
        try RowSnapshot.save(original, arrays: ["v": [1]], to: path)
        try Data("half".utf8).write(to: URL(fileURLWithPath: path + ".partial"))
        let loaded = MemoryRowStorage(width: Self.width)
        XCTAssertEqual(try RowSnapshot.load(into: loaded, from: path), ["v": [1]])
        XCTAssertEqual(try RowFixtures.contents(loaded), try RowFixtures.contents(original))
        try RowSnapshot.save(try filled(3), arrays: ["v": [2]], to: path)
        XCTAssertFalse(RowFixtures.exists(path + ".partial"))
        XCTAssertEqual(try RowSnapshot.load(into: MemoryRowStorage(width: Self.width), from: path), ["v": [2]])
    }
}
