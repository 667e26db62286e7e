import XCTest
import Foundation
import Tensor
@testable import MMoE

/// Issue 19: every write, fsync and rename of a checkpoint save and of a store commit made to fail
/// in turn (the `FileFaults` seam of `AtomicFile` and `RowFile`); each failure leaves the previous
/// state loadable, or the new one when the failure came after its commit point.
final class FaultInjectionTests: XCTestCase {
    override func tearDown() { FileFaults.disarm() }

    func scratch() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmoe-faults-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    func model(seed: UInt64) throws -> MMoEModel {
        try MMoEModel(MMoEConfig(denseWidth: 6, fieldRows: [5, 3], embeddingDim: 2, expertDNN: [8], towerDNN: [4]), seed: seed)
    }

    func testEveryFailedCheckpointOperationLeavesALoadableCheckpoint() throws {
        let first = try model(seed: 1), second = try model(seed: 2)
        let optimizer = Adam(for: first, learningRate: 0.01)
        let root = try scratch()
        // How many operations a save takes.
        let probe = CheckpointDirectory(path: root + "/probe", keep: 1)
        _ = try probe.save(first, optimizer: optimizer, kind: .adam, step: 1, metadata: [:])
        FileFaults.arm(failAt: nil)
        _ = try probe.save(second, optimizer: optimizer, kind: .adam, step: 2, metadata: [:])
        let count = FileFaults.operations.count
        FileFaults.disarm()
        XCTAssertGreaterThanOrEqual(count, 8, "\(FileFaults.operations)")

        for failAt in 0 ..< count {
            let dir = CheckpointDirectory(path: root + "/ck\(failAt)", keep: 1)
            _ = try dir.save(first, optimizer: optimizer, kind: .adam, step: 1, metadata: [:])
            FileFaults.arm(failAt: failAt)
            XCTAssertThrowsError(try dir.save(second, optimizer: optimizer, kind: .adam, step: 2, metadata: [:]), "operation \(failAt)")
            let failed = FileFaults.operations.last ?? "?"
            FileFaults.disarm()
            // The newest complete checkpoint loads, and holds one of the two models whole.
            guard let latest = dir.latest() else { XCTFail("no checkpoint left after failing \(failed)"); continue }
            let loaded = try model(seed: 3)
            XCTAssertNoThrow(try ModelCheckpoint.load(into: loaded, from: latest.path), "after failing \(failed)")
            let expected = latest.step == 2 ? second : first
            XCTAssertEqual(loaded.parameters.values.scalars, expected.parameters.values.scalars, "after failing \(failed)")
            XCTAssertNoThrow(try OptimizerCheckpoint.load(into: Adam(for: loaded, learningRate: 0.01), kind: .adam, from: latest.path),
                             "after failing \(failed)")
        }
    }

    func testEveryFailedCommitOperationLeavesACommittedStore() throws {
        let width = 3
        func open(_ dir: String) throws -> FileRowStorage {
            try FileRowStorage(directory: dir, width: width, keys: .sparse, cacheBudgetBytes: 6 * FileRowStorage.frameBytes(width: width))
        }
        /// Commit A, then changes B left uncommitted; returns the open store and both states.
        func states(_ dir: String) throws -> (FileRowStorage, [UInt64: [Float]], [UInt64: [Float]]) {
            let store = try open(dir)
            var a: [UInt64: [Float]] = [:]
            for k in 0 ..< UInt64(40) { a[k] = RowFixtures.record(k, version: 1, width: width) }
            try store.write(Array(0 ..< UInt64(40)), (0 ..< UInt64(40)).flatMap { a[$0]! })
            try store.commit()
            var b = a
            for k in 20 ..< UInt64(60) { b[k] = RowFixtures.record(k, version: 2, width: width) }
            try store.write(Array(20 ..< UInt64(60)), (20 ..< UInt64(60)).flatMap { b[$0]! })
            return (store, a, b)
        }
        let root = try scratch()
        var count = 0
        do {
            let (store, _, _) = try states(root + "/probe")
            FileFaults.arm(failAt: nil)
            try store.commit()
            count = FileFaults.operations.count
            FileFaults.disarm()
        }
        XCTAssertGreaterThanOrEqual(count, 4, "\(FileFaults.operations)")
        for failAt in 0 ..< count {
            let dir = root + "/s\(failAt)"
            var failed = "?"
            let (a, b): ([UInt64: [Float]], [UInt64: [Float]]) = try {
                let (store, a, b) = try states(dir)
                FileFaults.arm(failAt: failAt)
                XCTAssertThrowsError(try store.commit(), "operation \(failAt)")
                failed = FileFaults.operations.last ?? "?"
                FileFaults.disarm()
                return (a, b)
            }()
            let reopened = try open(dir)
            let contents = try RowFixtures.contents(reopened)
            XCTAssertTrue(contents == a || contents == b, "after failing \(failed): neither commit")
        }
    }
}
