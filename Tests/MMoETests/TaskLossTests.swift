import XCTest
import Tensor
import Datasets
@testable import MMoE

/// Missing labels, task weights and conditioned tasks in the trainer: which rows reach each
/// task's gradient and metrics, checked against the same batches with those rows removed.
final class TaskLossTests: XCTestCase {
    func makeTrainer(_ taskLoss: TaskLossSettings = TaskLossSettings(), shards: Int = 1, rows: Int = 80, towers: [Int] = []) throws -> Trainer {
        var config = MMoEConfig(denseWidth: 6, fieldRows: [5, 4], embeddingDim: 4, numExperts: 3, numTasks: 2, expertDNN: [16, 8])
        config.towerDNN = towers
        var settings = TrainerSettings()
        settings.batchSize = 40
        settings.batchShards = shards
        settings.taskLoss = taskLoss
        settings.learningRate = 0.01
        let data = TrainingTests.easyData(rows: rows, seed: 11)
        return Trainer(model: try MMoEModel(config, seed: 5), train: data, test: data, settings: settings)
    }

    /// The dense gradient of one step's loss on `batch` (the step's own weighting), then zeroed.
    func gradient(_ trainer: Trainer, _ batch: Batch) -> [Float] {
        let coefficients = trainer.taskCoefficients([batch])
        _ = trainer.accumulateGradients(batch, weight: 1, coefficients: coefficients)
        defer {
            trainer.model.parameters.zeroGrad()
            trainer.model.embedding?.zeroGrad()
        }
        return trainer.model.parameters.grads.scalars
    }

    func assertClose(_ a: [Float], _ b: [Float], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        let scale = b.map { abs($0) }.max() ?? 1
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, 1e-5 * scale, "largest difference \(worst) (largest gradient \(scale))", file: file, line: line)
    }

    /// `data` with task `task`'s label set to NaN on `rows` (every task when nil).
    func missing(_ data: TabularData, rows: [Int], task: Int? = nil) -> TabularData {
        var d = data
        for r in rows { for t in 0..<d.taskCount where task == nil || task == t { d.labels[r * d.taskCount + t] = .nan } }
        return d
    }

    func testRowsWithoutAnyLabelAddNothing() throws {
        let data = TrainingTests.easyData(rows: 80, seed: 12)
        let gone = [0, 7, 8, 33, 50, 79]
        let kept = (0..<80).filter { !gone.contains($0) }
        // Reference: the usual loss on the batch without those rows.
        let reference = gradient(try makeTrainer(), Batch(data, rows: kept))
        // The whole batch with those rows unlabelled, whole and in two shards.
        let masked = Batch(missing(data, rows: gone), rows: 0..<80)
        assertClose(gradient(try makeTrainer(), masked), reference)
        assertClose(gradient(try makeTrainer(shards: 2), masked), reference)
        XCTAssertTrue(reference.contains { $0 != 0 })
    }

    /// A label missing for one task only: that task's term is its mean over its labelled rows,
    /// the other task's over all rows.
    func testALabelMissingForOneTaskStillTrainsTheOther() throws {
        let data = TrainingTests.easyData(rows: 80, seed: 13)
        let gone = [1, 2, 40, 41, 77]
        let kept = (0..<80).filter { !gone.contains($0) }
        let first = gradient(try makeTrainer(TaskLossSettings(weights: [1, 0])), Batch(data, rows: kept))
        let second = gradient(try makeTrainer(TaskLossSettings(weights: [0, 1])), Batch(data, rows: 0..<80))
        let masked = gradient(try makeTrainer(), Batch(missing(data, rows: gone, task: 0), rows: 0..<80))
        assertClose(masked, zip(first, second).map { $0 + $1 })
        // Each task's part is itself a plain run's: task 0 alone on the kept rows.
        XCTAssertEqual(try makeTrainer().taskCoefficients([Batch(missing(data, rows: gone, task: 0), rows: 0..<80)]),
                       [1 / Float(kept.count), 1 / Float(80)])
    }

    /// A task conditioned on another counts the rows whose condition label is 1: exactly as if
    /// its other labels were missing; its metrics count the same rows.
    func testConditionedTaskCountsRowsWhoseConditionIsOne() throws {
        let data = TrainingTests.easyData(rows: 80, seed: 14)
        let notClicked = (0..<80).filter { data.labels[$0 * 2] != 1 }
        XCTAssertFalse(notClicked.isEmpty)
        let conditioned = try makeTrainer(TaskLossSettings(conditions: [nil, 0]))
        let viaCondition = gradient(conditioned, Batch(data, rows: 0..<80))
        let viaMissing = gradient(try makeTrainer(), Batch(missing(data, rows: notClicked, task: 1), rows: 0..<80))
        XCTAssertEqual(viaCondition.map(\.bitPattern), viaMissing.map(\.bitPattern))
        XCTAssertEqual(conditioned.trainedTaskRows, [80, 80 - notClicked.count])

        let report = conditioned.evaluate(data, epoch: 0, step: 0)
        XCTAssertEqual(report.taskSamples, [80, 80 - notClicked.count])
        let logits = conditioned.predictLogits(data)
        let clicked = (0..<80).filter { data.labels[$0 * 2] == 1 }
        XCTAssertEqual(report.auc[1], Metrics.auc(scores: clicked.map { logits[1][$0] }, labels: clicked.map { data.labels[$0 * 2 + 1] }))
        XCTAssertEqual(report.auc[0], Metrics.auc(scores: logits[0], labels: (0..<80).map { data.labels[$0 * 2] }))
    }

    /// Missing test labels: the task's metrics cover its labelled rows, the other task's all rows.
    func testMetricsCountLabelledRowsOnly() throws {
        let data = TrainingTests.easyData(rows: 80, seed: 15)
        let gone = Array(stride(from: 0, to: 80, by: 3))
        let trainer = try makeTrainer()
        let report = trainer.evaluate(missing(data, rows: gone, task: 1), epoch: 0, step: 0)
        let full = trainer.evaluate(data, epoch: 0, step: 0)
        let logits = trainer.predictLogits(data)
        let kept = (0..<80).filter { !gone.contains($0) }
        XCTAssertEqual(report.taskSamples, [80, kept.count])
        XCTAssertEqual(report.auc[0], full.auc[0])
        XCTAssertEqual(report.auc[1], Metrics.auc(scores: kept.map { logits[1][$0] }, labels: kept.map { data.labels[$0 * 2 + 1] }))
        XCTAssertEqual(report.logLoss[1], Metrics.logLoss(logits: kept.map { logits[1][$0] }, labels: kept.map { data.labels[$0 * 2 + 1] }))
        XCTAssertTrue(report.loss.allSatisfy(\.isFinite))
    }

    /// A task whose test labels are one class, or all missing: an undefined AUC (null in JSON,
    /// "undefined" in the log), the mean AUC over the other task, and no crash.
    func testUndefinedAUC() throws {
        var oneClass = TrainingTests.easyData(rows: 40, seed: 16)
        for r in 0..<40 { oneClass.labels[r * 2 + 1] = 0 }
        let trainer = try makeTrainer()
        let report = trainer.evaluate(oneClass, epoch: 1, step: 2)
        XCTAssertTrue(report.auc[1].isNaN)
        XCTAssertTrue(report.auc[0].isFinite)
        XCTAssertEqual(report.meanAUC, report.auc[0])
        let record = RunLog.evalRecord(report, tasks: ["a", "b"])
        XCTAssertTrue((record["auc"] as? [String: Any])?["b"] is NSNull)
        XCTAssertTrue(RunLog.json(record).contains("\"b\":null"), RunLog.json(record))
        XCTAssertEqual(record["auc_mean"] as? Double, report.auc[0])
        let line = RunLog.evalLine(report, tasks: ["a", "b"], hostMemoryMB: nil)
        XCTAssertTrue(line.contains("AUC_b undefined, "), line)
        XCTAssertFalse(line.lowercased().contains("nan"), line)

        let unlabelled = missing(oneClass, rows: Array(0..<40), task: 1)
        let none = trainer.evaluate(unlabelled, epoch: 1, step: 2)
        XCTAssertEqual(none.taskSamples, [40, 0])
        XCTAssertTrue(none.auc[1].isNaN && none.logLoss[1].isNaN && none.accuracy[1].isNaN)
        let summary = RunLog.summaryRecord(TrainingSummary(steps: 1, epochs: 1, trainSeconds: 1, trainSamples: 40, finalEvaluation: none),
                                           dataset: "x", tasks: ["a", "b"], peakRSSMB: nil)
        let json = RunLog.json(summary)
        XCTAssertTrue(json.contains("\"task_samples\":{\"a\":40,\"b\":0}"), json)
        XCTAssertFalse(json.lowercased().contains("nan"), json)
    }

    /// A batch where a task has no counted row: that task adds zero loss and zero gradient.
    func testABatchWithoutLabelsForATaskAddsNothingForIt() throws {
        let data = TrainingTests.easyData(rows: 40, seed: 17)
        let trainer = try makeTrainer(TaskLossSettings(weights: [0, 1]))
        let reference = gradient(trainer, Batch(data, rows: 0..<40))
        let noTask0 = gradient(try makeTrainer(), Batch(missing(data, rows: Array(0..<40), task: 0), rows: 0..<40))
        assertClose(noTask0, reference)
        let losses = trainer.stepTaskLosses([Tensor(shape: [2, 40], repeating: 0)], [Batch(missing(data, rows: Array(0..<40), task: 0), rows: 0..<40)])
        XCTAssertTrue(losses[0].isNaN)
        XCTAssertEqual(losses[1], log(2), accuracy: 1e-9)
    }

    /// A weight of 0 leaves the task's tower (and its gate) exactly as initialised, while the
    /// other task's tower trains.
    func testZeroWeightLeavesTheTowerUnchanged() throws {
        let trainer = try makeTrainer(TaskLossSettings(weights: [1, 0]), rows: 400, towers: [8])
        let names = trainer.model.parameters.parameters.map(\.name).filter { $0.hasPrefix("towers.") || $0.hasPrefix("gates.") }
        XCTAssertTrue(names.contains("towers.layers.0.weight") && names.contains("gates.out.weight"), "\(names)")
        func slices(_ task: Int) -> [[UInt32]] { names.map { trainer.model.parameters[$0]!.value.select(0, task).contiguous().scalars.map(\.bitPattern) } }
        let before = (slices(0), slices(1))
        for _ in 0..<15 { trainer.trainStep(try trainer.source.next()) }
        XCTAssertEqual(slices(1), before.1)
        XCTAssertNotEqual(slices(0), before.0)
    }
}
