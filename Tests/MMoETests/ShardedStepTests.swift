import XCTest
import Tensor
import Datasets
@testable import MMoE

/// Batch-shard data parallelism: a step must not depend on the thread count, and the summed shard
/// gradients must be the full batch's gradient (up to summation order).
final class ShardedStepTests: XCTestCase {
    let config = MMoEConfig(denseWidth: 6, fieldRows: [5, 4], embeddingDim: 4, numExperts: 3, numTasks: 2,
                            expertDNN: [32, 16], gateDNN: [8], towerDNN: [4])

    override func tearDown() {
        Parallel.threads = 0
        super.tearDown()
    }

    func makeTrainer(_ config: MMoEConfig, shards: Int, batchSize: Int = 99) throws -> Trainer {
        var settings = TrainerSettings()
        settings.batchSize = batchSize
        settings.trainBatches = 8
        settings.lossPrintInterval = 1
        settings.learningRate = 0.01
        settings.batchShards = shards
        settings.evalBatchSize = 70
        return Trainer(model: try MMoEModel(config, seed: 3), train: TrainingTests.easyData(rows: 300, seed: 1),
                       test: TrainingTests.easyData(rows: 150, seed: 2), settings: settings)
    }

    /// Eight steps (99 rows: uneven shards of 49 and 50; every fourth batch has 3 rows and runs
    /// whole) with dropout, at 1 and at 2 threads: every parameter bit must agree, and so must the
    /// losses and the evaluation.
    func testTrainingIsBitIdenticalForOneAndTwoThreads() throws {
        var c = config
        c.dropout = 0.2
        func run(threads: Int) throws -> (values: [Float], embedding: [Float], losses: [[Double]], logits: [[Float]]) {
            Parallel.threads = threads
            let trainer = try makeTrainer(c, shards: 2)
            var losses: [[Double]] = []
            let summary = try trainer.run { if case .step(let r) = $0 { losses.append(r.taskLosses) } }
            XCTAssertEqual(summary.trainSamples, 2 * 300)
            return (trainer.model.parameters.values.scalars, trainer.model.embedding!.value.scalars, losses,
                    trainer.predictLogits(TrainingTests.easyData(rows: 150, seed: 2)))
        }
        let one = try run(threads: 1), two = try run(threads: 2)
        XCTAssertEqual(one.losses.count, 8)
        XCTAssertTrue(one.values == two.values, "dense parameters differ between 1 and 2 threads")
        XCTAssertTrue(one.embedding == two.embedding, "embedding rows differ between 1 and 2 threads")
        XCTAssertEqual(one.losses, two.losses)
        XCTAssertTrue(one.logits == two.logits)
        // Training moved the parameters, or the comparison proves little.
        let start = try MMoEModel(c, seed: 3).parameters.values.scalars
        XCTAssertNotEqual(one.values, start)
    }

    /// One batch's gradient, sharded and whole, on the same model: equal up to rounding.
    func testShardedGradientEqualsWholeBatchGradient() throws {
        let whole = try makeTrainer(config, shards: 1), sharded = try makeTrainer(config, shards: 2)
        let batch = Batch(TrainingTests.easyData(rows: 99, seed: 5), rows: 0..<99)
        let logitsWhole = whole.accumulateGradients(batch), logitsSharded = sharded.accumulateGradients(batch)
        XCTAssertEqual(logitsWhole.shape, [2, 99])
        XCTAssertTrue(logitsWhole.scalars == logitsSharded.scalars, "a forward pass does not depend on the rows beside it")

        func assertClose(_ a: [Float], _ b: [Float], _ what: String) {
            let scale = max(a.map(abs).max()!, 1e-6)
            XCTAssertGreaterThan(scale, 1e-4, "\(what): the gradient is all but zero")
            for i in a.indices { XCTAssertEqual(a[i], b[i], accuracy: 1e-5 * scale, "\(what)[\(i)]") }
        }
        for (p, q) in zip(whole.model.parameters.parameters, sharded.model.parameters.parameters) {
            assertClose(p.grad.scalars, q.grad.scalars, p.name)
        }
        let a = whole.model.embedding!, b = sharded.model.embedding!
        XCTAssertEqual(Set(a.touchedRows), Set(b.touchedRows))
        assertClose((0..<a.rows).flatMap { a.gradient(ofRow: $0) }, (0..<b.rows).flatMap { b.gradient(ofRow: $0) }, "embedding")
    }

    /// Evaluation cut into shards gives the same bits as evaluation in one piece.
    func testShardedEvaluationIsExact() throws {
        let test = TrainingTests.easyData(rows: 150, seed: 2)
        let one = try makeTrainer(config, shards: 1).predictLogits(test)
        Parallel.threads = 2
        let two = try makeTrainer(config, shards: 2).predictLogits(test)
        XCTAssertEqual(one[0].count, 150)
        XCTAssertTrue(one == two)
    }
}
