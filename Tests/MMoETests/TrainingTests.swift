import XCTest
import Tensor
import Datasets
@testable import MMoE

/// End to end on data the model must learn: two tasks, each a different noisy rule over dense
/// features and one sparse field.
final class TrainingTests: XCTestCase {
    static func easyData(rows: Int, seed: UInt64) -> TabularData {
        var rng = SeededRNG(seed: seed)
        var dense: [Float] = [], ids: [Int32] = [], labels: [Float] = []
        let fieldEffect: [Float] = [-1.5, -0.5, 0, 0.5, 1.5]
        for _ in 0..<rows {
            let x = (0..<6).map { _ in rng.nextUniform() * 2 - 1 }
            let f0 = Int(rng.next() % 5), f1 = Int(rng.next() % 4)
            dense += x
            ids += [Int32(f0), Int32(5 + f1)]   // field 0 owns rows 0..<5, field 1 rows 5..<9
            let z1 = 2 * x[0] - 1.5 * x[1] + fieldEffect[f0] + 0.3 * rng.nextNormal()
            let z2 = 1.5 * x[2] * x[3] * 4 + x[0] - (f1 == 2 ? 1.5 : 0) + 0.3 * rng.nextNormal()
            labels += [z1 > 0 ? 1 : 0, z2 > 0 ? 1 : 0]
        }
        return TabularData(count: rows, denseWidth: 6, dense: dense, fieldCount: 2, ids: ids,
                           taskNames: ["a", "b"], labels: labels)
    }

    func testLearnsAnEasyTwoTaskProblem() throws {
        let train = Self.easyData(rows: 4000, seed: 1), test = Self.easyData(rows: 1000, seed: 2)
        let config = MMoEConfig(denseWidth: 6, fieldRows: [5, 4], embeddingDim: 4, numExperts: 3, numTasks: 2,
                                expertDNN: [32, 16])
        let model = try MMoEModel(config, seed: 3)
        var settings = TrainerSettings()
        settings.batchSize = 64
        settings.trainBatches = 400
        settings.lossPrintInterval = 1
        settings.learningRate = 0.01
        let trainer = Trainer(model: model, train: train, test: test, settings: settings)
        let before = trainer.evaluate(test, epoch: 0, step: 0)
        var losses: [Double] = [], evaluations = 0
        let summary = try trainer.run { event in
            switch event {
            case .step(let r): losses.append(r.taskLosses.reduce(0, +))
            case .evaluation: evaluations += 1
            case .checkpointDue, .incrementalSaveDue, .timeline, .progress, .modelSelected: break
            }
        }
        XCTAssertEqual(losses.count, 400)
        // 4000 / 64 = 62.5 -> 63 batches per epoch: boundaries at 63, 126, ..., 378, then a final evaluation.
        XCTAssertEqual(trainer.batchesPerEpoch, 63)
        XCTAssertEqual(evaluations, 7)
        let early = losses.prefix(10).reduce(0, +) / 10, late = losses.suffix(50).reduce(0, +) / 50
        XCTAssertLessThan(late, early * 0.6, "mean loss of the first 10 steps \(early), of the last 50 \(late)")
        let auc = summary.finalEvaluation!.auc
        XCTAssertGreaterThan(auc[0], 0.85, "task a: \(auc), before training \(before.auc)")
        XCTAssertGreaterThan(auc[1], 0.85, "task b: \(auc), before training \(before.auc)")
        XCTAssertLessThan(summary.finalEvaluation!.logLoss[0], before.logLoss[0])
        // Each epoch: 62 full batches and one of 32 rows.
        XCTAssertEqual(summary.trainSamples, 6 * 4000 + 22 * 64)
    }

    func testSameSeedSameRunDifferentSeedDifferentRun() throws {
        let train = Self.easyData(rows: 300, seed: 1), test = Self.easyData(rows: 100, seed: 2)
        let config = MMoEConfig(denseWidth: 6, fieldRows: [5, 4], embeddingDim: 2, numExperts: 2, numTasks: 2,
                                expertDNN: [8], dropout: 0.2)
        func run(_ seed: UInt64) throws -> [Float] {
            let model = try MMoEModel(config, seed: seed)
            var s = TrainerSettings()
            s.batchSize = 32; s.trainBatches = 20; s.lossPrintInterval = 5; s.seed = seed
            _ = try Trainer(model: model, train: train, test: test, settings: s).run { _ in }
            return model.parameters.values.scalars
        }
        XCTAssertEqual(try run(5), try run(5))
        XCTAssertNotEqual(try run(5), try run(6))
    }

    func testLearningRateDecaysAtEpochBoundariesLikeTheReference() throws {
        let train = Self.easyData(rows: 100, seed: 1), test = Self.easyData(rows: 50, seed: 2)
        let model = try MMoEModel(MMoEConfig(denseWidth: 6, fieldRows: [5, 4], embeddingDim: 2, expertDNN: [4]), seed: 1)
        var s = TrainerSettings()
        s.batchSize = 50; s.trainBatches = 10; s.lossPrintInterval = 1
        s.learningRate = 1e-3; s.lrFactor = 0.1; s.minLR = 1e-5  // floor(log(1e-2) / log(0.1)) = 2 decays
        let trainer = Trainer(model: model, train: train, test: test, settings: s)
        var rates: [Float] = []
        _ = try trainer.run { if case .step(let r) = $0 { rates.append(r.learningRate) } }
        XCTAssertEqual(rates.map { ($0 * 1e6).rounded() }, [1000, 1000, 100, 100, 10, 10, 10, 10, 10, 10])
    }
}
