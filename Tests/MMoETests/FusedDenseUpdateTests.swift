import XCTest
import Tensor
import Datasets
@testable import MMoE

/// The fused end of a step (the optimizer's pass reads each gradient as the shards' sum plus L2,
/// and the gradients are then left to count as zero: `Trainer+FusedUpdate.swift`) must give the
/// bits of the separate passes, for every optimizer, on one and two threads, with L2 ranges that
/// cross the 16k-element chunks.
final class FusedDenseUpdateTests: XCTestCase {
    override func tearDown() {
        Parallel.threads = 0
        super.tearDown()
    }

    func testFusedUpdateGivesTheSeparatePassesBits() throws {
        // ~110k dense weights: 7 chunks, so the pass runs on both threads and L2's weight ranges
        // (the biases are left out) start and end inside chunks.
        let config = MMoEConfig(denseWidth: 6, fieldRows: [5, 4], embeddingDim: 4, numExperts: 3, numTasks: 2,
                                expertDNN: [256, 128], gateDNN: [8], towerDNN: [4])
        let data = TrainingTests.easyData(rows: 800, seed: 1)
        for kind in OptimizerKind.allCases {
            for threads in [1, 2] {
                Parallel.threads = threads
                func train(fused: Bool) throws -> (values: [Float], embedding: [Float], state: [[Float]]) {
                    var settings = TrainerSettings()
                    settings.batchSize = 200
                    settings.batchShards = 2
                    settings.optimizer = kind
                    settings.learningRate = 0.01
                    settings.l2 = 1e-3
                    let trainer = Trainer(model: try MMoEModel(config, seed: 3), train: data, test: data, settings: settings)
                    // The test hook reads the summed gradients, so a trainer with one sums them first.
                    if !fused { trainer.afterBackward = { _ in } }
                    let batches = (0..<4).map { Batch(data, rows: ($0 * 200)..<($0 * 200 + 200)) }
                    XCTAssertEqual(trainer.fusesDenseUpdate([batches[0]]), fused)
                    for b in batches { trainer.trainStep(b) }
                    // The step leaves the gradients to count as zero; made real, they are.
                    for replica in trainer.shardModels { replica.parameters.materializeGradients() }
                    for replica in trainer.shardModels {
                        XCTAssertTrue(replica.parameters.grads.scalars.allSatisfy { $0 == 0 }, "\(kind): gradients not zeroed")
                    }
                    return (trainer.model.parameters.values.scalars, trainer.model.embedding!.value.scalars,
                            trainer.optimizer.stateTensors().map(\.tensor.scalars))
                }
                let fused = try train(fused: true), separate = try train(fused: false)
                XCTAssertTrue(fused.values == separate.values, "\(kind), \(threads) threads: dense weights differ")
                XCTAssertTrue(fused.embedding == separate.embedding, "\(kind), \(threads) threads: embedding rows differ")
                XCTAssertTrue(fused.state == separate.state, "\(kind), \(threads) threads: optimizer state differs")
                XCTAssertNotEqual(fused.values, try MMoEModel(config, seed: 3).parameters.values.scalars)
            }
        }
    }

    /// The fused pass rewrites the weights' kept GEMM packs, and the next step uses them without
    /// packing: the same bits as a trainer that packs every step, on one and two threads, also
    /// when a step between them updates the weights some other way (a batch too small to shard
    /// runs unsharded and unfused, so the packs it leaves are stale and must not be used).
    func testKeptWeightPacksGiveTheRepackedBits() throws {
        let config = MMoEConfig(denseWidth: 6, fieldRows: [5, 4], embeddingDim: 4, numExperts: 3, numTasks: 2,
                                expertDNN: [256, 128], gateDNN: [8], towerDNN: [32])
        let data = TrainingTests.easyData(rows: 800, seed: 1)
        let sizes = [200, 200, 40, 200, 160]
        for threads in [1, 2] {
            Parallel.threads = threads
            /// The weights after the steps, and how many packs the second and fourth steps filled.
            func train(keeping: Bool) throws -> (values: [Float], filled: [Int]) {
                var settings = TrainerSettings()
                settings.batchSize = 200
                settings.batchShards = 2
                settings.optimizer = .adagrad
                settings.learningRate = 0.05
                let trainer = Trainer(model: try MMoEModel(config, seed: 3), train: data, test: data, settings: settings)
                trainer.keepsWeightPacks = keeping
                var start = 0, filled: [Int] = []
                for (i, size) in sizes.enumerated() {
                    trainer.trainStep(Batch(data, rows: start..<(start + size)))
                    start += size
                    if i == 1 || i == 3 { filled.append(trainer.weightPacks.packsFilled) }
                }
                return (trainer.model.parameters.values.scalars, filled)
            }
            let kept = try train(keeping: true), repacked = try train(keeping: false)
            XCTAssertTrue(kept.values == repacked.values, "\(threads) threads: kept packs changed the weights")
            let all = repacked.filled[0]
            XCTAssertGreaterThan(all, 0)
            XCTAssertEqual(repacked.filled, [all, all])
            // The second step packs nothing; the fourth, after the unfused third, packs everything.
            XCTAssertEqual(kept.filled, [0, all], "\(threads) threads: packs filled")
        }
    }
}
