import XCTest
import Tensor
import Datasets
@testable import MMoE

/// The validation set: the seeded split of training rows, and early stopping that keeps the best
/// evaluation's weights and scores the test set once, with them.
final class EarlyStoppingTests: XCTestCase {
    /// `data` with every binary label flipped: a validation set on which learning the training
    /// rule makes every evaluation worse than the one before.
    func flipped(_ data: TabularData) -> TabularData {
        var d = data
        d.labels = d.labels.map { 1 - $0 }
        return d
    }

    func trainer(patience: Int, metric: EarlyStoppingMetric = .aucMean, steps: Int = 400) throws -> (Trainer, TabularData) {
        let config = MMoEConfig(denseWidth: 6, fieldRows: [5, 4], embeddingDim: 4, numExperts: 3, numTasks: 2, expertDNN: [16, 8])
        var settings = TrainerSettings()
        settings.batchSize = 100
        settings.trainBatches = steps
        settings.lossPrintInterval = 1000
        settings.learningRate = 0.01
        let train = TrainingTests.easyData(rows: 1000, seed: 21), test = TrainingTests.easyData(rows: 300, seed: 22)
        let trainer = Trainer(model: try MMoEModel(config, seed: 9), train: train, test: test, settings: settings)
        trainer.selectModel(on: .memory(flipped(TrainingTests.easyData(rows: 300, seed: 23))), metric: metric, patience: patience)
        return (trainer, test)
    }

    func testARunThatStopsEarlyKeepsTheBestEvaluationsWeights() throws {
        for metric in [EarlyStoppingMetric.aucMean, .loss, .auc(task: "b")] {
            let (trainer, test) = try trainer(patience: 2, metric: metric)
            var weights: [Int: [UInt32]] = [:], valid: [EvalReport] = [], tests: [EvalReport] = []
            var selected: ModelSelectionReport?
            let summary = try trainer.run { event in
                switch event {
                case .evaluation(let r) where r.split == .valid:
                    valid.append(r)
                    weights[valid.count] = trainer.model.parameters.values.scalars.map(\.bitPattern)
                case .evaluation(let r): tests.append(r)
                case .modelSelected(let s): selected = s
                default: break
                }
            }
            let s = try XCTUnwrap(selected, "\(metric)")
            // 10 steps per epoch: stopped after 2 evaluations without improvement, long before step 400.
            let stop = try XCTUnwrap(s.stoppedAtStep, "\(metric): \(valid.map(\.auc))")
            XCTAssertEqual(summary.lastStep, stop)
            XCTAssertEqual(summary.steps, stop)
            XCTAssertLessThan(stop, 400)
            XCTAssertEqual(valid.count, s.evaluations)
            XCTAssertEqual(s.evaluations - s.bestIndex, 2, "\(metric): stops 2 evaluations after the best")
            // The best is the best by the metric, and its weights are the model's now.
            let values = valid.map { metric.value($0, taskNames: ["a", "b"], weights: TaskLossSettings()) }
            XCTAssertEqual(s.bestValue, metric == .loss ? values.min() : values.max(), "\(metric)")
            XCTAssertEqual(trainer.model.parameters.values.scalars.map(\.bitPattern), weights[s.bestIndex], "\(metric)")
            // The test set is scored once, at the end, with those weights.
            XCTAssertEqual(tests.count, 1)
            XCTAssertEqual(tests[0].split, .test)
            XCTAssertEqual(tests[0].step, s.best.step)
            XCTAssertEqual(summary.finalEvaluation?.auc, trainer.evaluate(test, epoch: 0, step: 0).auc)
        }
    }

    /// Patience 0 trains to the end and still keeps the best evaluation; an evaluation follows the
    /// last step when it is not an epoch boundary.
    func testWithoutPatienceTheRunEndsAndTheBestIsKept() throws {
        let (trainer, _) = try trainer(patience: 0, steps: 35)
        var valid: [EvalReport] = [], selected: ModelSelectionReport?
        _ = try trainer.run { event in
            if case .evaluation(let r) = event, r.split == .valid { valid.append(r) }
            if case .modelSelected(let s) = event { selected = s }
        }
        XCTAssertEqual(valid.map(\.step), [10, 20, 30, 35])
        XCTAssertNil(selected?.stoppedAtStep)
        XCTAssertEqual(selected?.bestIndex, 1)
    }

    func testValidFractionSplitIsSeededDisjointAndByContent() {
        let data = TrainingTests.easyData(rows: 2000, seed: 31)
        let split = ValidationSplit(fraction: 0.2, seed: 7)
        let (train, valid) = split.split(data)
        XCTAssertEqual(train.count + valid.count, data.count)
        XCTAssertEqual(Double(valid.count) / Double(data.count), 0.2, accuracy: 0.03)
        // Disjoint: no training row is held out, every validation row is; together they are the rows.
        XCTAssertTrue((0..<train.count).allSatisfy { !split.holdsOut(train, row: $0) })
        XCTAssertTrue((0..<valid.count).allSatisfy { split.holdsOut(valid, row: $0) })
        let key = { (d: TabularData, r: Int) in split.rowHash(d, row: r) }
        let trainKeys = Set((0..<train.count).map { key(train, $0) }), validKeys = Set((0..<valid.count).map { key(valid, $0) })
        XCTAssertTrue(trainKeys.isDisjoint(with: validKeys))
        XCTAssertEqual(trainKeys.union(validKeys), Set((0..<data.count).map { key(data, $0) }))
        // Seeded: the same seed splits the same way, another seed otherwise.
        XCTAssertEqual(ValidationSplit(fraction: 0.2, seed: 7).split(data).valid.dense, valid.dense)
        XCTAssertNotEqual(ValidationSplit(fraction: 0.2, seed: 8).split(data).valid.dense, valid.dense)
        // By content, not position: the rows reversed hold out the same rows.
        let reversed = data.gathering((0..<data.count).reversed())
        let reversedValid = split.split(reversed).valid
        XCTAssertEqual(Set((0..<reversedValid.count).map { key(reversedValid, $0) }), validKeys)
    }
}
