import XCTest
import Tensor
import Datasets
@testable import MMoE

/// Results must not depend on the thread count: training (the GEMMs and Adam split their work
/// over threads) and evaluation (its chunks are cut into one row shard per thread).
final class ThreadCountTests: XCTestCase {
    /// Experts wide enough that the GEMMs are split over threads and Adam runs in parallel chunks.
    let config = MMoEConfig(denseWidth: 6, fieldRows: [5, 4], embeddingDim: 4, numExperts: 3, numTasks: 2,
                            expertDNN: [256, 128], gateDNN: [8], towerDNN: [4], dropout: 0.2)

    override func tearDown() {
        Parallel.threads = 0
        super.tearDown()
    }

    func makeTrainer(evalBatchSize: Int = 4096) throws -> Trainer {
        var settings = TrainerSettings()
        settings.batchSize = 128
        settings.trainBatches = 6
        settings.lossPrintInterval = 1
        settings.learningRate = 0.01
        settings.evalBatchSize = evalBatchSize
        return Trainer(model: try MMoEModel(config, seed: 3), train: TrainingTests.easyData(rows: 700, seed: 1),
                       test: TrainingTests.easyData(rows: 100, seed: 2), settings: settings)
    }

    /// Six steps with dropout (the last batch of the epoch is short) at 1 and at 2 threads: every
    /// parameter bit and every reported loss must agree.
    func testTrainingIsBitIdenticalForOneAndTwoThreads() throws {
        func run(threads: Int) throws -> (values: [Float], embedding: [Float], losses: [[Double]]) {
            Parallel.threads = threads
            let trainer = try makeTrainer()
            var losses: [[Double]] = []
            _ = try trainer.run { if case .step(let r) = $0 { losses.append(r.taskLosses) } }
            return (trainer.model.parameters.values.scalars, trainer.model.embedding!.value.scalars, losses)
        }
        let one = try run(threads: 1), two = try run(threads: 2)
        XCTAssertEqual(one.losses.count, 6)
        XCTAssertTrue(one.values == two.values, "dense parameters differ between 1 and 2 threads")
        XCTAssertTrue(one.embedding == two.embedding, "embedding rows differ between 1 and 2 threads")
        XCTAssertEqual(one.losses, two.losses)
        // Training moved the parameters, or the comparison proves little.
        XCTAssertNotEqual(one.values, try MMoEModel(config, seed: 3).parameters.values.scalars)
    }

    /// Evaluation in chunks of 1000 rows (two shards of 500 at 2 threads, then one of 100), each
    /// shard in blocks of any size, gives the bits of one forward pass over all 1100 rows.
    func testEvaluationIsBitIdenticalForAnyThreadCountAndChunkSize() throws {
        let data = TrainingTests.easyData(rows: 1100, seed: 4)
        let trainer = try makeTrainer(evalBatchSize: 1000)
        var rng = SeededRNG(seed: 0)
        Parallel.threads = 1
        let whole = trainer.model.logits(Batch(data, rows: 0..<1100), tape: Tape(recording: false), training: false, rng: &rng).value
        let reference = (0..<2).map { whole.select(0, $0).scalars }
        for threads in [1, 2] {
            Parallel.threads = threads
            XCTAssertTrue(trainer.predictLogits(data) == reference, "\(threads) threads")
            // Shards of 500 rows go through in blocks (256 by default; 500 and 100 are 256 + 244 and
            // one short block); blocks of one row and of the whole shard give the same bits.
            for blockRows in [1, 7, 256, 500, 10_000] {
                var predictor = Predictor(model: trainer.model, chunkRows: 1000)
                predictor.blockRows = blockRows
                XCTAssertTrue(predictor.logits(data) == reference, "\(threads) threads, blocks of \(blockRows) rows")
            }
        }
    }
}
