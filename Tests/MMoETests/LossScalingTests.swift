import XCTest
import Foundation
import Tensor
import Datasets
import TestSupport
@testable import MMoE

/// Mixed precision's loss scaling: exact skip-and-rescale on an injected overflow, scaling that
/// changes no gradient, checkpointed scaler state, and a model that still learns under `--amp`.
final class LossScalingTests: XCTestCase {
    static let config = MMoEConfig(denseWidth: 6, fieldRows: [5, 4], embeddingDim: 4, numExperts: 3, numTasks: 2, expertDNN: [16, 8])

    func trainer(policy: LossScalePolicy?, bfloat16: Bool = false, growth: Int = 3, seed: UInt64 = 3,
                 optimizer: OptimizerKind = .adam) throws -> Trainer {
        var s = TrainerSettings()
        s.batchSize = 64
        s.learningRate = 0.01
        s.optimizer = optimizer
        s.l2 = 1e-3
        s.lossScalePolicy = policy
        s.lossScaleGrowthInterval = growth
        s.tapeOptions = TapeOptions(bfloat16: bfloat16)
        return Trainer(model: try MMoEModel(Self.config, seed: seed), train: TrainingTests.easyData(rows: 600, seed: 1),
                       test: TrainingTests.easyData(rows: 100, seed: 2), settings: s)
    }

    /// Everything a step may change: parameters, embedding table, optimizer state and step.
    struct Snapshot: Equatable {
        let values: [UInt32], table: [UInt32], state: [[UInt32]], step: Int
        init(_ t: Trainer) {
            values = TestSupport.bits(t.model.parameters.values)
            table = TestSupport.bits(t.model.embedding!.value)
            state = t.optimizer.stateTensors().map { TestSupport.bits($0.tensor) }
            step = t.optimizer.step
        }
    }

    func testDynamicScalingSkipsTheStepAndHalvesOnOverflowThenDoublesAfterCleanSteps() throws {
        let t = try trainer(policy: .dynamic)
        let scaler = try XCTUnwrap(t.lossScaler)
        var inject: ((MMoEModel) -> Void)?
        t.afterBackward = { inject?($0) }
        func step() throws { t.trainStep(try t.source.next()) }

        XCTAssertEqual(scaler.scale, 0x1p30)
        try step()
        XCTAssertEqual(scaler.cleanSteps, 1)
        XCTAssertEqual(t.optimizer.step, 1)

        // An Inf in one dense gradient: nothing moves, the scale halves, the clean run restarts.
        var before = Snapshot(t)
        inject = { $0.parameters.grads[7] = .infinity }
        try step()
        XCTAssertTrue(Snapshot(t) == before, "the skipped step changed the model or the optimizer")
        XCTAssertEqual(scaler.scale, 0x1p29)
        XCTAssertEqual(scaler.cleanSteps, 0)
        XCTAssertEqual(scaler.skippedSteps, 1)
        // The skipped step's gradients are gone: nothing leaks into the next step. The dense ones
        // count as zero, so the next backward pass overwrites them (AutogradTests).
        XCTAssertTrue(t.model.parameters.parameters.allSatisfy(\.gradIsStale))
        XCTAssertTrue(t.model.embedding!.touchedRows.isEmpty)

        // A NaN in the embedding rows' gradient (Inf times the zero entries) is caught the same way.
        before = Snapshot(t)
        inject = { _ = $0.embedding!.scaleGradient(by: .infinity) }
        try step()
        XCTAssertTrue(Snapshot(t) == before, "the skipped step changed the model or the optimizer")
        XCTAssertEqual(scaler.scale, 0x1p28)
        XCTAssertEqual(scaler.skippedSteps, 2)

        // Three clean steps (the growth interval here) double the scale; each one updates.
        inject = nil
        for k in 1...3 {
            before = Snapshot(t)
            try step()
            XCTAssertTrue(Snapshot(t).values != before.values, "clean step \(k) changed no parameter")
            XCTAssertEqual(t.optimizer.step, 1 + k)
            XCTAssertEqual(scaler.scale, k < 3 ? 0x1p28 : 0x1p29, "after clean step \(k)")
            XCTAssertEqual(scaler.cleanSteps, k % 3)
        }
        XCTAssertEqual(scaler.skippedSteps, 2)
    }

    func testStaticPolicyNeverSkipsAndKeepsItsScale() throws {
        let t = try trainer(policy: .static)
        t.afterBackward = { $0.parameters.grads[0] = .infinity }
        t.trainStep(try t.source.next())
        XCTAssertEqual(t.lossScaler!.scale, 1024)
        XCTAssertEqual(t.lossScaler!.skippedSteps, 0)
        XCTAssertEqual(t.optimizer.step, 1)
        XCTAssertFalse(t.model.parameters.values[0].isFinite, "a static scale applies the step, overflow and all")
    }

    /// Scales are powers of two, so a scaled backward and its unscaling are exact: every parameter
    /// equals, bit for bit, the unscaled run's, with Float and with bfloat16 GEMM inputs, for every
    /// optimizer (the L2 term comes after the unscaling).
    func testScalingChangesNoBitOfTheTrainedParameters() throws {
        for bf16 in [false, true] {
            for optimizer in [OptimizerKind.adam, .adagrad] {
                func trained(_ policy: LossScalePolicy?) throws -> Snapshot {
                    let t = try trainer(policy: policy, bfloat16: bf16, optimizer: optimizer)
                    for _ in 0..<25 { t.trainStep(try t.source.next()) }
                    XCTAssertEqual(t.lossScaler?.skippedSteps ?? 0, 0)
                    return Snapshot(t)
                }
                let plain = try trained(nil)
                XCTAssertTrue(try trained(.static) == plain, "static, bf16 \(bf16), \(optimizer)")
                XCTAssertTrue(try trained(.dynamic) == plain, "dynamic, bf16 \(bf16), \(optimizer)")
            }
        }
    }

    func testGradientsThatOverflowAtScaleOneStopTheRun() throws {
        let t = try trainer(policy: .dynamic)
        t.afterBackward = { $0.parameters.grads[0] = .nan }
        var steps = 0
        XCTAssertThrowsError(try t.run { if case .step = $0 { steps += 1 } }) {
            XCTAssertTrue("\($0)".contains("non-finite") && "\($0)".contains("loss scale 1"), "\($0)")
        }
        // 2^30 halves to 1 in 30 skipped steps; the 31st overflow is at scale 1.
        XCTAssertEqual(t.lossScaler!.skippedSteps, 31)
        XCTAssertEqual(t.optimizer.step, 0)
    }

    /// The scaler's state rides in the optimizer checkpoint: a run saved after an overflow and
    /// resumed continues bit for bit as the straight run does.
    func testScalerStateIsCheckpointedAndResumedExactly() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loss-scale-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        func injectAtStep3(_ t: Trainer) {
            var calls = 0
            t.afterBackward = { calls += 1; if calls == 3 { $0.parameters.grads[3] = .infinity } }
        }
        let straight = try trainer(policy: .dynamic)
        injectAtStep3(straight)
        for _ in 0..<12 { straight.trainStep(try straight.source.next()) }

        let first = try trainer(policy: .dynamic)
        injectAtStep3(first)
        for _ in 0..<5 { first.trainStep(try first.source.next()) }
        // Two clean steps, the overflow, two more clean: neither part of the state is at its start.
        XCTAssertEqual(first.lossScaler!.scale, 0x1p29)
        XCTAssertEqual(first.lossScaler!.cleanSteps, 2)
        let saved = try CheckpointDirectory(path: dir, keep: 1).save(first.model, optimizer: first.optimizer, kind: .adam, step: 5,
                                                                     metadata: [:], lossScaler: first.lossScaler)

        let resumed = try trainer(policy: .dynamic, seed: 77)
        try ModelCheckpoint.load(into: resumed.model, from: saved)
        try OptimizerCheckpoint.load(into: resumed.optimizer, kind: .adam, from: saved, lossScaler: resumed.lossScaler)
        XCTAssertEqual(resumed.lossScaler!.scale, 0x1p29)
        XCTAssertEqual(resumed.lossScaler!.cleanSteps, 2)
        XCTAssertEqual(resumed.optimizer.step, 4, "five steps, one skipped")
        try resumed.skipBatches(5)
        for _ in 5..<12 { resumed.trainStep(try resumed.source.next()) }
        XCTAssertTrue(Snapshot(resumed) == Snapshot(straight), "the resumed run differs from the straight one")
        XCTAssertEqual(resumed.lossScaler!.scale, straight.lossScaler!.scale)
        XCTAssertEqual(resumed.lossScaler!.cleanSteps, straight.lossScaler!.cleanSteps)

        // Another policy starts afresh; a malformed scale is an error naming the file and the key.
        let other = try trainer(policy: .static)
        try OptimizerCheckpoint.load(into: other.optimizer, kind: .adam, from: saved, lossScaler: other.lossScaler)
        XCTAssertEqual(other.lossScaler!.scale, 1024)
        let path = saved + "/" + OptimizerCheckpoint.fileName
        let file = try SafeTensors.decode(try Data(contentsOf: URL(fileURLWithPath: path)), file: path)
        var metadata = file.metadata
        metadata["checksum"] = nil  // the encoder writes its own
        metadata["loss_scale"] = "3.0"
        let tensors = file.tensors.keys.sorted().map { (name: $0, shape: file.tensors[$0]!.shape, values: file.tensors[$0]!.values) }
        try SafeTensors.encode(tensors, metadata: metadata).write(to: URL(fileURLWithPath: path))
        let fresh = try trainer(policy: .dynamic)
        XCTAssertThrowsError(try OptimizerCheckpoint.load(into: fresh.optimizer, kind: .adam, from: saved, lossScaler: fresh.lossScaler)) {
            XCTAssertTrue("\($0)".contains(path) && "\($0)".contains("loss_scale \"3.0\""), "\($0)")
        }
        XCTAssertEqual(fresh.optimizer.step, 0, "a rejected checkpoint changes nothing")
    }

    /// `--amp`'s numerics (bfloat16 GEMM inputs, dynamic loss scale) still learn the two-task
    /// problem `TrainingTests` uses.
    func testAmpStillLearns() throws {
        let train = TrainingTests.easyData(rows: 4000, seed: 1), test = TrainingTests.easyData(rows: 1000, seed: 2)
        var s = TrainerSettings()
        s.batchSize = 64; s.trainBatches = 400; s.lossPrintInterval = 100; s.learningRate = 0.01
        s.evaluateEachEpoch = false
        s.tapeOptions = TapeOptions(bfloat16: true)
        s.lossScalePolicy = .dynamic
        let trainer = Trainer(model: try MMoEModel(MMoEConfig(denseWidth: 6, fieldRows: [5, 4], embeddingDim: 4, numExperts: 3, numTasks: 2,
                                                              expertDNN: [32, 16]), seed: 3), train: train, test: test, settings: s)
        var scales: [Float?] = []
        let summary = try trainer.run { if case .step(let r) = $0 { scales.append(r.lossScale) } }
        XCTAssertEqual(scales, [0x1p30, 0x1p30, 0x1p30, 0x1p30])
        XCTAssertEqual(summary.skippedSteps, 0)
        XCTAssertEqual(summary.lossScale, 0x1p30)
        let auc = summary.finalEvaluation!.auc
        XCTAssertGreaterThan(auc[0], 0.85, "\(auc)")
        XCTAssertGreaterThan(auc[1], 0.85, "\(auc)")
    }

    func testUnscaleKernelReportsNonFiniteValues() {
        for n in [0, 1, 15, 16, 17, 40] {
            let x = Tensor(shape: [n], scalars: (0..<n).map { Float($0) - 3 })
            XCTAssertTrue(Kernels.scaleCheckingFinite(x, by: 0.25))
            XCTAssertEqual(x.scalars, (0..<n).map { (Float($0) - 3) * 0.25 })
            for bad in [Float.infinity, -.infinity, .nan] where n > 0 {
                for i in Set([0, n / 2, n - 1]) {
                    var v = [Float](repeating: 1, count: n)
                    v[i] = bad
                    XCTAssertFalse(Kernels.scaleCheckingFinite(Tensor(shape: [n], scalars: v), by: 0.5), "n \(n), \(bad) at \(i)")
                }
            }
        }
        // Finite values that overflow when scaled are reported too.
        XCTAssertFalse(Kernels.scaleCheckingFinite(Tensor(shape: [3], scalars: [1, .greatestFiniteMagnitude, 2]), by: 4))
    }
}
