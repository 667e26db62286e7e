import XCTest
import Foundation
import Tensor
import Datasets
import TestSupport
@testable import MMoE

/// `cached_ssd` against `device_mem` at the trainer: a table fifty times larger than its cache
/// trains to the same bits as the model's own table.
final class EmbeddingStoreFileTests: XCTestCase {
    /// Taobao's 17 fields (710,310 hashed rows), ids drawn uniformly from every field's buckets so
    /// most lookups of a step are rows no step has touched for a while.
    static func wideIds(rows: Int, seed: UInt64) -> TabularData {
        let schema = Taobao.schema
        var rng = SeededRNG(seed: seed)
        var ids: [Int32] = [], labels: [Float] = []
        for _ in 0..<rows {
            for (offset, n) in zip(schema.fieldOffsets, schema.fieldRows) { ids.append(Int32(offset + Int(rng.next() % UInt64(n)))) }
            let click: Float = ids[ids.count - 17] % 3 == 0 ? 1 : 0
            labels += [click, click == 1 && rng.next() % 4 == 0 ? 1 : 0]
        }
        return TabularData(count: rows, denseWidth: 0, dense: [], fieldCount: schema.fieldRows.count, ids: ids,
                           taskNames: Taobao.taskNames, labels: labels)
    }

    /// 8-wide rows with Adagrad accumulators and bookkeeping: 18 Floats = 72 bytes a record, 51 MB
    /// for the table, against a 1 MB cache (about 9,000 records). 200 steps of 64 rows: every
    /// step's losses, the evaluation, the dense parameters and every one of the 710,310 rows
    /// (values and accumulators) agree bit for bit with the model's own table.
    func testCachedSSDWithA1MBBudgetTrainsA50MBTableExactlyAsDeviceMem() throws {
        let train = Self.wideIds(rows: 64 * 50, seed: 1), test = Self.wideIds(rows: 500, seed: 2)
        var c = MMoEConfig.deepRec(fieldRows: Taobao.schema.fieldRows)
        c.embeddingDim = 8
        c.expertDNN = [16, 8]
        c.towerDNN = [8]
        c.numExperts = 2
        var s = TrainerSettings()
        s.batchSize = 64
        s.trainBatches = 200
        s.lossPrintInterval = 1
        s.optimizer = .adagrad
        s.learningRate = 0.1
        s.l2 = 1e-6
        s.evaluateEachEpoch = false

        let dense = try MMoEModel(c, seed: 9)
        var denseLosses: [[UInt64]] = []
        let denseTrainer = Trainer(model: dense, train: train, test: test, settings: s)
        let denseAUC = try denseTrainer.run { if case .step(let r) = $0 { denseLosses.append(r.taskLosses.map(\.bitPattern)) } }.finalEvaluation!.auc

        let directory = RowFixtures.scratchDirectory("cached-ssd-50mb")
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        let model = try MMoEModel(c, seed: 9, embeddingTable: false)
        var file: FileRowStorage!
        let store = try EmbeddingStore(model: model, optimizer: .adagrad, settings: EmbeddingStoreSettings(kind: .fixed, seed: 0)) { width in
            file = try FileRowStorage(directory: directory, width: width, keys: .dense(capacity: Taobao.schema.totalRows), cacheBudgetBytes: 1 << 20)
            return file
        }
        let tableBytes = Taobao.schema.totalRows * store.layout.width * 4
        XCTAssertGreaterThan(tableBytes, 50_000_000)
        XCTAssertLessThanOrEqual(file.cacheBytes, 1 << 20)
        var losses: [[UInt64]] = []
        let trainer = Trainer(model: model, train: train, test: test, settings: s, embeddingStore: store)
        let auc = try trainer.run { if case .step(let r) = $0 { losses.append(r.taskLosses.map(\.bitPattern)) } }.finalEvaluation!.auc
        XCTAssertEqual(losses.count, 200)
        XCTAssertEqual(losses, denseLosses)
        XCTAssertEqual(auc, denseAUC)
        XCTAssertEqual(TestSupport.bits(model.parameters.values), TestSupport.bits(dense.parameters.values))
        XCTAssertLessThanOrEqual(file.cacheBytes, 1 << 20, "the cache kept to its budget")
        XCTAssertGreaterThan(file.misses, 200 * 64 * 17 * 4 / 10, "at least 40% of the lookups were read from the files")

        // Every row, values and accumulator, after the write-back of the last step.
        let d = c.embeddingDim, values = dense.embedding!.value.scalars
        let accumulator = (denseTrainer.optimizer as! Adagrad).embeddingAccumulator!.scalars
        var checked = 0
        try file.scan(chunk: 8192) { keys, records in
            let w = store.layout.width
            for (i, key) in keys.enumerated() {
                let row = Int(key)
                let record = records[(i * w)..<(i * w + 2 * d)].map(\.bitPattern)
                let want = (values[(row * d)..<((row + 1) * d)] + accumulator[(row * d)..<((row + 1) * d)]).map(\.bitPattern)
                if record != want { XCTFail("row \(row) differs"); return }
                checked += 1
            }
        }
        XCTAssertEqual(checked, Taobao.schema.totalRows)
    }

    /// `incrementalSaveSeconds`: an event after every step once the interval has passed (a tiny
    /// interval: every step), none at a step that already had a `.checkpointDue`, none when 0.
    func testIncrementalSaveEventsFollowTheWallClock() throws {
        let data = TrainingTests.easyData(rows: 64, seed: 1)
        let config = MMoEConfig(denseWidth: 6, fieldRows: [5, 4], embeddingDim: 2, numExperts: 1, numTasks: 2, expertDNN: [4])
        func events(seconds: Double, saveSteps: Int) throws -> (incremental: [Int], checkpoints: [Int]) {
            var s = TrainerSettings()
            s.batchSize = 8
            s.trainBatches = 10
            s.evaluate = false
            s.saveSteps = saveSteps
            s.incrementalSaveSeconds = seconds
            var incremental: [Int] = [], checkpoints: [Int] = []
            _ = try Trainer(model: try MMoEModel(config, seed: 1), train: data, test: data, settings: s).run {
                if case .incrementalSaveDue(let step) = $0 { incremental.append(step) }
                if case .checkpointDue(let step) = $0 { checkpoints.append(step) }
            }
            return (incremental, checkpoints)
        }
        XCTAssertEqual(try events(seconds: 1e-9, saveSteps: 4).incremental, [1, 2, 3, 5, 6, 7, 9, 10])
        XCTAssertEqual(try events(seconds: 1e-9, saveSteps: 4).checkpoints, [4, 8])
        XCTAssertEqual(try events(seconds: 0, saveSteps: 0).incremental, [])
        XCTAssertEqual(try events(seconds: 3600, saveSteps: 0).incremental, [])
    }
}
