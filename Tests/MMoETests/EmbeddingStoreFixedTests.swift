import XCTest
import Foundation
import Tensor
import Datasets
import TestSupport
@testable import MMoE

/// The hashed fixed table over a `RowStorage` against the model's own table: same rows, same
/// updates, bit for bit, for every optimizer, and through the whole trainer on Taobao-shaped data.
final class EmbeddingStoreFixedTests: XCTestCase {
    static let config = MMoEConfig(denseWidth: 6, fieldRows: [5, 4], embeddingDim: 18, numExperts: 2, numTasks: 2, expertDNN: [8])

    static func fixedStore(_ model: MMoEModel, _ kind: OptimizerKind) throws -> EmbeddingStore {
        try EmbeddingStore(model: model, optimizer: kind, settings: EmbeddingStoreSettings(kind: .fixed, seed: 3),
                           makeStorage: { MemoryRowStorage(width: $0) })
    }

    /// Taobao-layout rows (`TaobaoTrainingTests.lines`) written to a fresh directory and read back,
    /// with their raw keys when `keys`.
    static func taobaoShaped(_ test: XCTestCase, train: Int, test testRows: Int, keys: Bool = false) throws -> (TabularData, TabularData) {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmoe-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        let options = TaobaoOptions(keepKeys: keys)
        var parts: [TabularData] = []
        for (name, rows, seed) in [(Taobao.trainFileName, train, UInt64(1)), (Taobao.testFileName, testRows, 2)] {
            let path = url.appendingPathComponent(name).path
            try TaobaoTrainingTests.lines(rows, seed: seed).write(toFile: path, atomically: true, encoding: .utf8)
            parts.append(try Taobao.load(path: path, options: options))
        }
        return (parts[0], parts[1])
    }

    /// The row of `store` under `key`, whole (values, state, bookkeeping), or nil.
    static func record(_ store: EmbeddingStore, _ key: UInt64) throws -> [Float]? {
        var records = [Float](repeating: 0, count: store.layout.width), found = [false]
        try store.storage.read([key], into: &records, found: &found)
        return found[0] ? records : nil
    }

    /// The state a dense optimizer keeps for table row `row`, in the store's record order.
    static func denseState(_ optimizer: any Optimizer, row: Int, dim d: Int) -> [Float] {
        func part(_ t: Tensor?) -> [Float] { Array(t!.scalars[(row * d)..<((row + 1) * d)]) }
        switch optimizer {
        case let o as Adam: return part(o.embeddingM) + part(o.embeddingV)
        case let o as AdamAsync: return part(o.embeddingM) + part(o.embeddingV)
        case let o as Adagrad: return part(o.embeddingAccumulator)
        case let o as AdagradDecay: return part(o.embeddingAccumulator) + [o.embeddingDecayPower!.scalars[row]]
        default: return []
        }
    }

    /// Twelve steps of three rows each (so rows go untouched across AdagradDecay's decay boundaries
    /// at every second step), 18-wide rows (a 16-lane block and a scalar tail): the losses, the
    /// dense parameters, every row's values and its optimizer state agree bit for bit.
    func testEveryOptimizerUpdatesStoredRowsExactlyAsTheModelsTable() throws {
        let data = TrainingTests.easyData(rows: 36, seed: 1)
        for kind in OptimizerKind.allCases {
            let dense = try MMoEModel(Self.config, seed: 3), stored = try MMoEModel(Self.config, seed: 3, embeddingTable: false)
            XCTAssertNil(stored.embedding)
            let denseOptimizer = OptimizerTests.make(kind, dense), storedOptimizer = OptimizerTests.make(kind, stored)
            let store = try Self.fixedStore(stored, kind)
            XCTAssertEqual(store.storage.count, 9)
            for step in 0..<12 {
                let batch = Batch(data, rows: (step * 3)..<((step + 1) * 3))
                var rng = SeededRNG(seed: 0)
                let tape = Tape()
                let logits = dense.logits(batch, tape: tape, training: true, rng: &rng)
                let loss = dense.loss(logits: logits, labels: batch.labels)
                tape.backward(loss)
                denseOptimizer.update(dense)
                dense.parameters.zeroGrad()
                dense.embedding!.zeroGrad()

                let working = try store.pull([batch], training: true)
                XCTAssertNil(working.zeroRow, "a fixed table has a row for every id")
                let storedTape = Tape()
                let storedLogits = stored.logits(working.batches[0], tape: storedTape, training: true, rng: &rng, embedding: working.table)
                let storedLoss = stored.loss(logits: storedLogits, labels: batch.labels)
                storedTape.backward(storedLoss)
                storedOptimizer.update(stored)
                try store.update(working, optimizer: storedOptimizer)
                stored.parameters.zeroGrad()
                XCTAssertEqual(loss.value.item.bitPattern, storedLoss.value.item.bitPattern, "\(kind) step \(step + 1)")
            }
            XCTAssertEqual(TestSupport.bits(dense.parameters.values), TestSupport.bits(stored.parameters.values), "\(kind)")
            let d = Self.config.embeddingDim
            for row in 0..<9 {
                let record = try XCTUnwrap(Self.record(store, UInt64(row)))
                XCTAssertEqual(record[0..<d].map(\.bitPattern), dense.embedding!.value.scalars[(row * d)..<((row + 1) * d)].map(\.bitPattern),
                               "\(kind) row \(row) values")
                XCTAssertEqual(record[d..<(d + store.layout.stateWidth)].map(\.bitPattern),
                               Self.denseState(denseOptimizer, row: row, dim: d).map(\.bitPattern), "\(kind) row \(row) state")
            }
            if let o = denseOptimizer as? AdamAsync {
                XCTAssertEqual(store.rowOptimizer.betaPowers.beta1, o.embeddingBetaPowers.beta1)
                XCTAssertEqual(store.rowOptimizer.betaPowers.beta2, o.embeddingBetaPowers.beta2)
            }
            if kind == .adagraddecay {
                // The decay path ran: some row has had decays.
                XCTAssertTrue((denseOptimizer as! AdagradDecay).embeddingDecayPower!.scalars.contains { $0 > 0 })
            }
        }
    }

    /// 50 steps of DeepRec's configuration (adagrad, L2, two row shards) on Taobao-shaped data,
    /// through `Trainer.run`, with the rows in memory and in a `FileRowStorage` whose cache holds a
    /// few hundred of the 710k records: the losses of every step and the evaluation agree bit for
    /// bit with the model's own table.
    func testTrainerWithAFixedStoreIsBitIdenticalToTheDensePath() throws {
        let (train, test) = try Self.taobaoShaped(self, train: 600, test: 200)
        var c = MMoEConfig.deepRec(fieldRows: Taobao.schema.fieldRows)
        c.embeddingDim = 4
        c.expertDNN = [16, 8]
        c.towerDNN = [8]
        var s = TrainerSettings()
        s.batchSize = 64
        s.trainBatches = 50
        s.lossPrintInterval = 1
        s.optimizer = .adagrad
        s.learningRate = 0.1
        s.l2 = 1e-6
        s.batchShards = 2
        s.microBatches = 2
        s.evaluateEachEpoch = false
        let directory = RowFixtures.scratchDirectory("fixed-trainer")
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        func run(_ makeStorage: RowStorageFactory?) throws -> (losses: [[UInt64]], auc: [Double], dense: [UInt32]) {
            let model = try MMoEModel(c, seed: 5, embeddingTable: makeStorage == nil)
            let embeddingStore = try makeStorage.map {
                try EmbeddingStore(model: model, optimizer: .adagrad, settings: EmbeddingStoreSettings(kind: .fixed, seed: 3), makeStorage: $0)
            }
            let trainer = Trainer(model: model, train: train, test: test, settings: s, embeddingStore: embeddingStore)
            var losses: [[UInt64]] = []
            let summary = try trainer.run { if case .step(let r) = $0 { losses.append(r.taskLosses.map(\.bitPattern)) } }
            return (losses, summary.finalEvaluation!.auc, TestSupport.bits(model.parameters.values))
        }
        let dense = try run(nil)
        XCTAssertEqual(dense.losses.count, 50)
        var file: FileRowStorage?
        for (name, factory) in [("memory", { MemoryRowStorage(width: $0) } as RowStorageFactory),
                                ("file", { width in
                                    file = try FileRowStorage(directory: directory, width: width, keys: .dense(capacity: Taobao.schema.totalRows),
                                                              cacheBudgetBytes: 100 * FileRowStorage.frameBytes(width: width))
                                    return file!
                                })] {
            let stored = try run(factory)
            XCTAssertEqual(dense.losses, stored.losses, name)
            XCTAssertEqual(dense.auc, stored.auc, name)
            XCTAssertEqual(dense.dense, stored.dense, name)
        }
        XCTAssertEqual(file?.cacheCapacity, 100)
        XCTAssertGreaterThan(file?.misses ?? 0, 100, "rows left the cache and were read back from the files")
    }
}
