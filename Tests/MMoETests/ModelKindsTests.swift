import XCTest
import Tensor
import Datasets
@testable import MMoE

/// The baselines of `--model` (omoe, shared_bottom, single_task, simple_multitask, ple) and
/// regression tasks: each against the plain-loop reference (outputs, loss, every gradient by
/// central differences), parameter counts by hand, the identities between kinds, and learning.
final class ModelKindsTests: XCTestCase {
    /// A tiny network with every part present: two sparse fields, dense features, two-layer
    /// experts/bottoms, a gate hidden layer and a tower hidden layer.
    static func tinyConfig(_ kind: ModelKind, types: [TaskType] = []) -> MMoEConfig {
        var c = MMoEConfig(denseWidth: 3, fieldRows: [4, 3], embeddingDim: 2, numExperts: 3, numTasks: 2,
                           expertDNN: [5, 4], gateDNN: [3], towerDNN: [2])
        c.kind = kind
        c.taskTypes = types
        return c
    }

    static func makeBatch(_ config: MMoEConfig, _ b: Int, seed: UInt64) -> (Batch, dense: [[Double]], ids: [[Int]], labels: [[Double]]) {
        var rng = SeededRNG(seed: seed)
        let types = config.resolvedTaskTypes
        let dense = (0..<b).map { _ in (0..<config.denseWidth).map { _ in Double(rng.nextUniform()) } }
        // Field f's ids live in its own range of the fused table.
        let ids = (0..<b).map { _ in [Int(rng.next() % 4), 4 + Int(rng.next() % 3)] }
        let labels = (0..<config.numTasks).map { t in
            (0..<b).map { _ in types[t] == .regression ? Double(rng.nextNormal()) : Double(rng.next() % 2) }
        }
        let batch = Batch(size: b, dense: Tensor(shape: [b, config.denseWidth], scalars: dense.flatMap { $0.map(Float.init) }),
                          ids: ids.flatMap { $0.map(Int32.init) },
                          labels: Tensor(shape: [config.numTasks, b], scalars: labels.flatMap { $0.map(Float.init) }))
        return (batch, dense, ids, labels)
    }

    /// Larger-than-default weights so the ReLUs and softmaxes are far from trivial.
    static func makeModel(_ config: MMoEConfig, seed: UInt64 = 7) throws -> MMoEModel {
        let model = try MMoEModel(config, seed: seed)
        var rng = SeededRNG(seed: seed + 1)
        model.parameters.values.withUnsafeMutableBufferPointer { v in for i in 0..<v.count { v[i] = rng.nextNormal() * 0.7 } }
        model.embedding?.value.withUnsafeMutableBufferPointer { v in for i in 0..<v.count { v[i] = rng.nextNormal() } }
        return model
    }

    /// Outputs, loss and every gradient of `config`'s model against the Double reference.
    func checkAgainstReference(_ config: MMoEConfig, file: StaticString = #filePath, line: UInt = #line) throws {
        let model = try Self.makeModel(config)
        let (batch, dense, ids, labels) = Self.makeBatch(config, 6, seed: 9)
        var rng = SeededRNG(seed: 1)
        let tape = Tape()
        let logits = model.logits(batch, tape: tape, training: true, rng: &rng)
        let loss = model.loss(logits: logits, labels: batch.labels)
        tape.backward(loss)

        var reference = ReferenceMMoE(model)
        let what = "\(config.kind.rawValue) \(config.resolvedTaskTypes.map(\.rawValue))"
        let refLogits = reference.logits(dense: dense, ids: ids)
        for t in 0..<config.numTasks {
            for b in 0..<6 {
                XCTAssertEqual(Double(logits.value[t, b]), refLogits[t][b], accuracy: 1e-4 * max(1, abs(refLogits[t][b])),
                               "\(what): output [\(t), \(b)]", file: file, line: line)
            }
        }
        let refLoss = reference.loss(dense: dense, ids: ids, labels: labels)
        XCTAssertEqual(Double(loss.value.item), refLoss, accuracy: 1e-4 * refLoss, "\(what): loss", file: file, line: line)

        func numericGradient(_ name: String, _ i: Int) -> Double {
            let eps = 1e-5, saved = reference.params[name]![i]
            reference.params[name]![i] = saved + eps
            let up = reference.loss(dense: dense, ids: ids, labels: labels)
            reference.params[name]![i] = saved - eps
            let down = reference.loss(dense: dense, ids: ids, labels: labels)
            reference.params[name]![i] = saved
            return (up - down) / (2 * eps)
        }
        var checked = 0
        for p in model.parameters.parameters {
            let analytic = p.grad.scalars
            for i in analytic.indices {
                let numeric = numericGradient(p.name, i)
                XCTAssertEqual(Double(analytic[i]), numeric, accuracy: 1e-4 * max(abs(numeric), 1e-2), "\(what): \(p.name)[\(i)]",
                               file: file, line: line)
                checked += 1
            }
        }
        let table = model.embedding!
        for row in 0..<table.rows {
            let g = table.gradient(ofRow: row)
            for j in 0..<table.dim {
                let numeric = numericGradient("embedding", row * table.dim + j)
                XCTAssertEqual(Double(g[j]), numeric, accuracy: 1e-4 * max(abs(numeric), 1e-2), "\(what): embedding row \(row)[\(j)]",
                               file: file, line: line)
            }
        }
        XCTAssertEqual(checked, model.parameters.count, file: file, line: line)
        // Some gradient must be non-zero, or the comparison proves nothing.
        XCTAssertGreaterThan(model.parameters.grads.scalars.map(abs).max()!, 1e-3, what, file: file, line: line)
    }

    func testEveryKindMatchesTheReference() throws {
        for kind in [ModelKind.omoe, .sharedBottom, .singleTask, .simpleMultitask] {
            try checkAgainstReference(Self.tinyConfig(kind))
        }
        var ple = Self.tinyConfig(.ple)
        ple.taskExperts = 2
        ple.sharedExperts = 2
        ple.pleLevels = 2
        try checkAgainstReference(ple)
        // Three levels, one expert per task, no gate hidden layer, gates with a bias, ReLU after
        // the experts' last layer.
        ple.taskExperts = 1
        ple.sharedExperts = 1
        ple.pleLevels = 3
        ple.gateDNN = []
        ple.gateBias = true
        ple.expertReluOnLast = true
        try checkAgainstReference(ple)
        ple = Self.tinyConfig(.ple)
        ple.taskExperts = 2
        ple.sharedExperts = 0
        try checkAgainstReference(ple)
    }

    func testRegressionTasksMatchTheReference() throws {
        try checkAgainstReference(Self.tinyConfig(.mmoe, types: [.regression, .regression]))
        try checkAgainstReference(Self.tinyConfig(.mmoe, types: [.binary, .regression]))
        try checkAgainstReference(Self.tinyConfig(.sharedBottom, types: [.regression, .binary]))
        var ple = Self.tinyConfig(.ple, types: [.regression, .binary])
        ple.taskExperts = 2
        try checkAgainstReference(ple)
    }

    /// The paper's synthetic-data sizes: d = 100, 2 tasks, towers of 8 hidden units.
    func testParameterCountsByHand() throws {
        func count(_ kind: ModelKind, _ edit: (inout MMoEConfig) -> Void = { _ in }) throws -> Int {
            var c = MMoEConfig(denseWidth: 100, fieldRows: [], embeddingDim: 0, numExperts: 8, numTasks: 2,
                               expertDNN: [16], gateDNN: [], towerDNN: [8])
            c.kind = kind
            edit(&c)
            let model = try MMoEModel(c, seed: 1)
            XCTAssertEqual(model.parameterCount, MMoEModel.parameterSpecs(c).reduce(0) { $0 + $1.shape.reduce(1, *) })
            return model.parameterCount
        }
        // A tower on width h: h -> 8 (weights and biases), 8 -> 1 (weight and bias).
        func tower(_ h: Int) -> Int { h * 8 + 8 + 8 * 1 + 1 }
        let expert = 100 * 16 + 16            // 1616
        // mmoe: 8 experts, 2 gates 100 -> 8 without bias, 2 towers on 16.
        XCTAssertEqual(try count(.mmoe), 8 * expert + 2 * (100 * 8) + 2 * tower(16))       // 12928 + 1600 + 290
        XCTAssertEqual(try count(.mmoe), 14_818)
        // omoe: the same experts, one gate.
        XCTAssertEqual(try count(.omoe), 8 * expert + 1 * (100 * 8) + 2 * tower(16))       // 14018
        XCTAssertEqual(try count(.omoe), 14_018)
        // shared_bottom: one bottom 100 -> 113, 2 towers on 113.
        XCTAssertEqual(try count(.sharedBottom) { $0.bottomDNN = [113] }, (100 * 113 + 113) + 2 * tower(113))
        XCTAssertEqual(try count(.sharedBottom) { $0.bottomDNN = [113] }, 13_255)
        // shared_bottom without --bottom_dnn: the expert sizes.
        XCTAssertEqual(try count(.sharedBottom), expert + 2 * tower(16))
        // single_task: a bottom 100 -> 64 -> 16 per task, 2 towers on 16.
        XCTAssertEqual(try count(.singleTask) { $0.bottomDNN = [64, 16] }, 2 * (100 * 64 + 64 + 64 * 16 + 16) + 2 * tower(16))
        // simple_multitask: 2 towers on the input.
        XCTAssertEqual(try count(.simpleMultitask), 2 * tower(100))
        // ple, 2 levels of 1 expert per task + 1 shared, gates without hidden layers or bias.
        // Level 0 (input 100): 2 task experts, 1 shared, 2 task gates 100 -> 2, the shared gate 100 -> 3.
        let level0 = 2 * expert + 1 * expert + 2 * (100 * 2) + 1 * (100 * 3)
        // Level 1 (input 16): experts 16 -> 16; task gates 16 -> 2; no shared gate after the last level.
        let expert16 = 16 * 16 + 16
        let level1 = 2 * expert16 + 1 * expert16 + 2 * (16 * 2)
        XCTAssertEqual(try count(.ple) { $0.taskExperts = 1; $0.sharedExperts = 1; $0.pleLevels = 2 }, level0 + level1 + 2 * tower(16))
        XCTAssertEqual(level0 + level1 + 2 * tower(16), 6_718)
        // ple, 1 level of 3 experts per task + 2 shared: task gates 100 -> 5, no shared gate.
        XCTAssertEqual(try count(.ple) { $0.taskExperts = 3; $0.sharedExperts = 2; $0.pleLevels = 1 },
                       (2 * 3 + 2) * expert + 2 * (100 * 5) + 2 * tower(16))
    }

    func testPLEWithOneLevelAndNoSharedExpertsIsOneModelPerTask() throws {
        var c = Self.tinyConfig(.ple)
        c.pleLevels = 1
        c.sharedExperts = 0
        c.taskExperts = 2
        let ple = try Self.makeModel(c)
        let (batch, _, _, _) = Self.makeBatch(c, 7, seed: 3)
        var rng = SeededRNG(seed: 1)
        let out = ple.logits(batch, tape: Tape(recording: false), training: false, rng: &rng).value
        for t in 0..<2 {
            // Task t alone: an mmoe with one task and its two experts, weights copied slice by slice.
            var single = Self.tinyConfig(.mmoe)
            single.numTasks = 1
            single.numExperts = 2
            let model = try MMoEModel(single, seed: 99)
            func copy(_ from: String, _ to: String, slices: Range<Int>) {
                let src = ple.parameters[from]!.value, dst = model.parameters[to]!.value
                XCTAssertEqual(dst.shape[0], slices.count, to)
                dst.assign(src.slice(0, slices))
            }
            for l in 0..<2 {
                for part in ["weight", "bias"] {
                    copy("ple0_task_experts.layers.\(l).\(part)", "experts.layers.\(l).\(part)", slices: (2 * t)..<(2 * t + 2))
                }
            }
            for part in ["weight", "bias"] {
                copy("ple0_task_gates.layers.0.\(part)", "gates.layers.0.\(part)", slices: t..<(t + 1))
                copy("towers.layers.0.\(part)", "towers.layers.0.\(part)", slices: t..<(t + 1))
                copy("towers.out.\(part)", "towers.out.\(part)", slices: t..<(t + 1))
            }
            copy("ple0_task_gates.out.weight", "gates.out.weight", slices: t..<(t + 1))
            model.embedding!.value.assign(ple.embedding!.value)
            let alone = model.logits(batch, tape: Tape(recording: false), training: false, rng: &rng).value
            for b in 0..<7 { XCTAssertEqual(out[t, b], alone[0, b], accuracy: 1e-5 * max(1, abs(alone[0, b])), "task \(t) row \(b)") }
        }
    }

    func testOMoEIsMMoEForOneTask() throws {
        var c = Self.tinyConfig(.mmoe)
        c.numTasks = 1
        var o = c
        o.kind = .omoe
        XCTAssertEqual(MMoEModel.parameterSpecs(c).map(\.name), MMoEModel.parameterSpecs(o).map(\.name))
        XCTAssertEqual(MMoEModel.parameterSpecs(c).map(\.shape), MMoEModel.parameterSpecs(o).map(\.shape))
        let mmoe = try Self.makeModel(c), omoe = try Self.makeModel(o)
        XCTAssertEqual(mmoe.parameters.values.scalars, omoe.parameters.values.scalars)
        let (batch, _, _, _) = Self.makeBatch(c, 9, seed: 4)
        var rng = SeededRNG(seed: 1)
        let a = mmoe.logits(batch, tape: Tape(recording: false), training: false, rng: &rng).value
        let b = omoe.logits(batch, tape: Tape(recording: false), training: false, rng: &rng).value
        for i in 0..<9 { XCTAssertEqual(a[0, i], b[0, i], accuracy: 1e-6 * max(1, abs(a[0, i]))) }
        // With two tasks they differ: omoe's tasks share one mixture.
        var c2 = c, o2 = o
        c2.numTasks = 2
        o2.numTasks = 2
        XCTAssertNotEqual(try Self.makeModel(c2).parameterCount, try Self.makeModel(o2).parameterCount)
    }

    func testSharedBottomIsMMoEWithOneExpert() throws {
        var c = Self.tinyConfig(.mmoe)
        c.numExperts = 1
        let mmoe = try Self.makeModel(c)
        var s = c
        s.kind = .sharedBottom
        let bottom = try MMoEModel(s, seed: 5)
        // A softmax over one expert is 1 whatever the gate's weights: the bottom is that expert.
        for p in bottom.parameters.parameters {
            let name = p.name.replacingOccurrences(of: "bottom.", with: "experts.")
            p.value.assign(mmoe.parameters[name]!.value)
        }
        bottom.embedding!.value.assign(mmoe.embedding!.value)
        let (batch, _, _, _) = Self.makeBatch(c, 8, seed: 6)
        var rng = SeededRNG(seed: 1)
        let a = mmoe.logits(batch, tape: Tape(recording: false), training: false, rng: &rng).value
        let b = bottom.logits(batch, tape: Tape(recording: false), training: false, rng: &rng).value
        for t in 0..<2 { for i in 0..<8 { XCTAssertEqual(a[t, i], b[t, i], accuracy: 1e-5 * max(1, abs(a[t, i]))) } }
    }

    /// Every kind, on a small synthetic problem of each task type, brings its test loss down.
    func testEveryKindLearnsATwoTaskProblem() throws {
        for types in [[TaskType.binary, .binary], [.regression, .regression]] {
            let data = SyntheticTasks.generate(trainRows: 2_000, testRows: 500, settings: .init(inputDim: 10, correlation: 0.5, seed: 3),
                                               binaryTasks: types.map { $0 == .binary })
            for kind in ModelKind.allCases {
                var c = MMoEConfig(denseWidth: 10, fieldRows: [], embeddingDim: 0, numExperts: 4, numTasks: 2,
                                   expertDNN: [16], gateDNN: [], towerDNN: [8])
                c.kind = kind
                c.taskTypes = types
                c.sharedExperts = 1
                c.taskExperts = 2
                let model = try MMoEModel(c, seed: 11)
                var settings = TrainerSettings()
                settings.batchSize = 64
                settings.trainBatches = 150
                settings.lossPrintInterval = 1000
                settings.learningRate = 0.01
                settings.evaluateEachEpoch = false
                let trainer = Trainer(model: model, train: data.train, test: data.test, settings: settings)
                let before = trainer.evaluate(data.test, epoch: 0, step: 0)
                let after = try trainer.run { _ in }.finalEvaluation!
                for t in 0..<2 {
                    XCTAssertLessThan(after.loss[t], 0.8 * before.loss[t], "\(kind.rawValue) \(types[t].rawValue) task \(t + 1)")
                    XCTAssertEqual(after.auc[t].isNaN, types[t] == .regression)
                }
            }
        }
    }

    func testConfigErrorsNameTheFlag() {
        var c = Self.tinyConfig(.ple)
        c.pleLevels = 0
        XCTAssertThrowsError(try MMoEModel(c, seed: 1)) { XCTAssertTrue("\($0)".contains("--ple_levels"), "\($0)") }
        c = Self.tinyConfig(.mmoe, types: [.regression])
        XCTAssertThrowsError(try MMoEModel(c, seed: 1)) { XCTAssertTrue("\($0)".contains("--task_types"), "\($0)") }
        c = Self.tinyConfig(.sharedBottom)
        c.bottomDNN = []
        XCTAssertThrowsError(try MMoEModel(c, seed: 1)) { XCTAssertTrue("\($0)".contains("--bottom_dnn"), "\($0)") }
    }
}
