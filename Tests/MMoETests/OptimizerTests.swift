import XCTest
import Foundation
import Tensor
@testable import MMoE

/// Every optimizer against its update written out element by element in plain Swift: dense
/// parameters, lazily updated embedding rows, their state, checkpoints of the state.
final class OptimizerTests: XCTestCase {
    static let learningRate: Float = 0.05
    static let config = MMoEConfig(denseWidth: 2, fieldRows: [3, 2], embeddingDim: 2, numExperts: 2, numTasks: 2, expertDNN: [3])
    /// The same with 18-wide rows, so the row kernels run one 16-lane block and a scalar tail.
    static let wideConfig = MMoEConfig(denseWidth: 2, fieldRows: [3, 2], embeddingDim: 18, numExperts: 2, numTasks: 2, expertDNN: [3])
    /// Embedding ids (rows of the fused 5-row table) per step: a repeated row, a step touching no
    /// row, row 2 never touched, row 3 untouched across AdagradDecay's boundaries at steps 2 and 4.
    static let schedule: [[Int32]] = [[0, 3, 0], [1], [], [3, 4]]

    /// The optimizers under test. ε = 1e-3 for the Adams, so where ε sits (inside or outside the
    /// bias correction) shows in the values; decay step 2 for AdagradDecay, so it decays.
    static func make(_ kind: OptimizerKind, _ model: MMoEModel) -> any Optimizer {
        switch kind {
        case .adam: Adam(for: model, learningRate: learningRate, epsilon: 1e-3)
        case .adamasync: AdamAsync(for: model, learningRate: learningRate, epsilon: 1e-3)
        case .adagrad: Adagrad(for: model, learningRate: learningRate)
        case .adagraddecay: AdagradDecay(for: model, learningRate: learningRate, decayStep: 2)
        case .gradientdescent: GradientDescent(learningRate: learningRate)
        }
    }

    // MARK: - Gradients

    static func denseGradient(_ count: Int, step: Int) -> [Float] {
        (0..<count).map { Float(sin(Double(3 * $0 + 7 * step))) }
    }

    /// One `[D]` gradient row per id of this step (a bag of one id each).
    static func bagGradients(_ ids: [Int32], dim: Int, step: Int) -> [[Float]] {
        ids.indices.map { k in (0..<dim).map { j in Float(cos(Double(5 * k + 3 * j + 11 * step))) } }
    }

    /// Writes this step's dense gradient and, through a tape's embedding-bag backward, its row
    /// gradients into `model`.
    static func setGradients(_ model: MMoEModel, step: Int) {
        model.parameters.zeroGrad()
        model.parameters.grads.assign(Tensor(shape: [model.parameters.count], scalars: denseGradient(model.parameters.count, step: step)))
        let table = model.embedding!
        table.zeroGrad()
        let ids = schedule[step - 1]
        guard !ids.isEmpty else { return }
        let bags = Tensor(shape: [ids.count, table.dim], scalars: bagGradients(ids, dim: table.dim, step: step).flatMap { $0 })
        let tape = Tape()
        let out = tape.embeddingBag(table, ids: ids, offsets: (0...ids.count).map(Int32.init))
        tape.backward((out * tape.constant(bags)).sum())
    }

    // MARK: - The reference

    /// One optimizer's update, element by element in Double, from the formulas in its doc comment.
    /// Elements are the dense parameters, then the table's rows. Scalars the optimizer keeps or
    /// computes once per step in Float (bias corrections, beta powers) are Float here too, so what is
    /// compared is the elementwise arithmetic.
    struct Reference {
        let kind: OptimizerKind
        let denseCount: Int, dim: Int
        var x: [Double]
        /// m or the accumulator; v.
        var s1: [Double], s2: [Double]
        /// AdagradDecay: decays had by the dense group and by each row.
        var densePower = 0, rowPower: [Int]
        /// AdamAsync: beta powers of the dense group and of the table.
        var denseBeta: (Float, Float) = (0.9, 0.999), tableBeta: (Float, Float) = (0.9, 0.999)
        /// AdagradDecay: accumulator decays that hit the floor, and all decays.
        var floors = 0, decays = 0

        let lr = Double(OptimizerTests.learningRate)
        let b1f: Float = 0.9, b2f: Float = 0.999
        var b1: Double { Double(b1f) }
        var b2: Double { Double(b2f) }
        let eps = Double(Float(1e-3))
        let acc0 = Double(Float(0.1)), decayRate = Double(Float(0.9))
        let decayStep = 2

        init(_ kind: OptimizerKind, _ model: MMoEModel) {
            self.kind = kind
            denseCount = model.parameters.count
            dim = model.embedding!.dim
            x = (model.parameters.values.scalars + model.embedding!.value.scalars).map(Double.init)
            let start = kind == .adagrad || kind == .adagraddecay ? acc0 : 0
            s1 = [Double](repeating: start, count: x.count)
            s2 = [Double](repeating: 0, count: x.count)
            rowPower = [Int](repeating: 0, count: model.embedding!.rows)
        }

        mutating func update(step t: Int, dense: [Float], rows: [(row: Int, grad: [Double])]) {
            let periods = t / decayStep
            // Dense group.
            var decay = periods > densePower
            if kind == .adagraddecay && decay { densePower += 1 }
            var alpha = adamAsyncAlpha(denseBeta)
            for i in 0..<denseCount { element(i, Double(dense[i]), t: t, alpha: alpha, decay: decay) }
            denseBeta = (denseBeta.0 * b1f, denseBeta.1 * b2f)
            // Touched rows, each its own group.
            alpha = adamAsyncAlpha(tableBeta)
            for (row, g) in rows {
                decay = periods > rowPower[row]
                if kind == .adagraddecay && decay { rowPower[row] += 1 }
                for j in 0..<dim { element(denseCount + row * dim + j, g[j], t: t, alpha: alpha, decay: decay) }
            }
            if !rows.isEmpty { tableBeta = (tableBeta.0 * b1f, tableBeta.1 * b2f) }
        }

        func adamAsyncAlpha(_ powers: (Float, Float)) -> Double {
            lr * (1 - Double(powers.1)).squareRoot() / (1 - Double(powers.0))
        }

        mutating func element(_ i: Int, _ g: Double, t: Int, alpha: Double, decay: Bool) {
            switch kind {
            case .gradientdescent:
                x[i] -= lr * g
            case .adagrad:
                s1[i] += g * g
                x[i] -= lr * g / s1[i].squareRoot()
            case .adagraddecay:
                if decay {
                    decays += 1
                    if s1[i] * decayRate < acc0 { floors += 1 }
                    s1[i] = max(s1[i] * decayRate, acc0)
                }
                s1[i] += g * g
                x[i] -= lr * g / s1[i].squareRoot()
            case .adam:
                s1[i] = b1 * s1[i] + (1 - b1) * g
                s2[i] = b2 * s2[i] + (1 - b2) * g * g
                let c1 = Double(1 - pow(b1f, Float(t))), c2 = Double(1 - pow(b2f, Float(t)))
                x[i] -= lr * (s1[i] / c1) / ((s2[i] / c2).squareRoot() + eps)
            case .adamasync:
                s1[i] = b1 * s1[i] + (1 - b1) * g
                s2[i] = b2 * s2[i] + (1 - b2) * g * g
                x[i] -= alpha * s1[i] / (s2[i].squareRoot() + eps)
            }
        }
    }

    // MARK: - Helpers

    /// 1e-6 relative, with magnitudes below `floor` measured against `floor`.
    func assertClose(_ actual: [Float], _ expected: [Double], floor: Double, _ what: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, what, file: file, line: line)
        for (i, (a, e)) in zip(actual, expected).enumerated() where abs(Double(a) - e) > 1e-6 * max(abs(e), floor) {
            XCTFail("\(what)[\(i)]: \(a), expected \(e)", file: file, line: line)
            return
        }
    }

    func state(_ optimizer: any Optimizer) -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: optimizer.stateTensors().map { ($0.name, $0.tensor.copy()) })
    }

    func bits(_ t: Tensor) -> [UInt32] { t.scalars.map(\.bitPattern) }

    /// Row `r` of a `[V, D]` or `[V]` tensor, as bit patterns.
    func rowBits(_ t: Tensor, _ r: Int) -> [UInt32] {
        let width = t.count / t.shape[0]
        return Array(bits(t)[(r * width)..<((r + 1) * width)])
    }

    // MARK: - Tests

    func testEveryOptimizerMatchesItsScalarReference() throws {
        for config in [Self.config, Self.wideConfig] {
            for kind in OptimizerKind.allCases { try checkAgainstReference(kind, config) }
        }
    }

    func checkAgainstReference(_ kind: OptimizerKind, _ config: MMoEConfig) throws {
        let model = try MMoEModel(config, seed: 5)
        let optimizer = Self.make(kind, model)
        var reference = Reference(kind, model)
        let table = model.embedding!, d = table.dim
        let label = "\(kind) D=\(d)"
        for step in 1...Self.schedule.count {
            Self.setGradients(model, step: step)
            let ids = Self.schedule[step - 1]
            // Row gradients as the reference sums them: each id's bag row, added up per row.
            var rowGrads: [(row: Int, grad: [Double])] = []
            for (k, g) in Self.bagGradients(ids, dim: d, step: step).enumerated() {
                let r = Int(ids[k])
                if let s = rowGrads.firstIndex(where: { $0.row == r }) {
                    for j in 0..<d { rowGrads[s].grad[j] += Double(g[j]) }
                } else {
                    rowGrads.append((r, g.map(Double.init)))
                }
            }
            let before = state(optimizer), tableBefore = table.value.copy()
            optimizer.update(model)
            reference.update(step: step, dense: Self.denseGradient(model.parameters.count, step: step), rows: rowGrads)
            XCTAssertEqual(optimizer.step, step, label)

            assertClose(model.parameters.values.scalars + table.value.scalars, reference.x, floor: 0.1, "\(label) step \(step) values")
            let names: (String, String)? = switch kind {
            case .adam, .adamasync: ("m", "v")
            case .adagrad, .adagraddecay: ("accumulator", "")
            case .gradientdescent: nil
            }
            if case let (n1, n2)? = names {
                // m sums terms up to (1-β1)·|g| ≈ 0.1 that can cancel, so it is measured against 0.1
                // like the values; v's terms are up to (1-β2)·g² ≈ 1e-3.
                let s = state(optimizer)
                assertClose(s["\(kind).\(n1)"]!.scalars + s["\(kind).embedding.\(n1)"]!.scalars, reference.s1, floor: 0.1,
                            "\(label) step \(step) \(n1)")
                if !n2.isEmpty {
                    assertClose(s["\(kind).\(n2)"]!.scalars + s["\(kind).embedding.\(n2)"]!.scalars, reference.s2, floor: 1e-3,
                                "\(label) step \(step) \(n2)")
                }
            }
            if let ad = optimizer as? AdagradDecay {
                XCTAssertEqual(ad.decayPower, reference.densePower, label)
                XCTAssertEqual(ad.embeddingDecayPower!.scalars, reference.rowPower.map(Float.init), label)
            }
            // Rows without a gradient this step: value and every row of state bit for bit as before.
            let after = state(optimizer)
            for r in 0..<table.rows where !ids.contains(Int32(r)) {
                XCTAssertEqual(rowBits(table.value, r), rowBits(tableBefore, r), "\(label) step \(step): untouched row \(r) moved")
                for (name, t) in before where name.contains(".embedding.") && t.shape.first == table.rows {
                    XCTAssertEqual(rowBits(after[name]!, r), rowBits(t, r), "\(label) step \(step): \(name) of untouched row \(r) changed")
                }
            }
        }
        if kind == .adagraddecay {
            XCTAssertGreaterThan(reference.floors, 0, "no decay hit the floor")
            XCTAssertLessThan(reference.floors, reference.decays, "every decay hit the floor")
        }
        if let aa = optimizer as? AdamAsync {
            // Four updates, three of them with rows.
            XCTAssertEqual(aa.betaPowers.beta1, 0.9 * 0.9 * 0.9 * 0.9 * 0.9)
            XCTAssertEqual(aa.embeddingBetaPowers.beta1, 0.9 * 0.9 * 0.9 * 0.9)
        }
    }

    /// Decay step 2: the dense accumulator decays at exactly steps 2, 4, 6 and never below the
    /// baseline; a row untouched across the boundaries at 2 and 4 is two decays behind and, as in
    /// DeepRec, catches up one decay per touch (steps 6 and 7), not both at once.
    func testAdagradDecayScheduleFloorAndLaggingRows() throws {
        let model = try MMoEModel(Self.config, seed: 5)
        let opt = AdagradDecay(for: model, learningRate: 0.1, initialAccumulator: 0.1, decayStep: 2, decayRate: 0.5)
        let table = model.embedding!
        let decaysAt: Set<Int> = [2, 4, 6]
        // Dense parameter 0 has gradient 1 every step, parameter 1 gradient 0.01 (its accumulator
        // would decay below the baseline); row 1 is touched every step, row 0 at steps 1, 6 and 7.
        var dense0 = 0.1, dense1 = 0.1, row1 = 0.1, row0 = (0.1, 0.1)
        for step in 1...7 {
            var grads = [Float](repeating: 0, count: model.parameters.count)
            grads[0] = 1
            grads[1] = 0.01
            model.parameters.grads.assign(Tensor(shape: [grads.count], scalars: grads))
            let rows: [Int32] = [1, 6, 7].contains(step) ? [1, 0] : [1]
            let tape = Tape()
            let out = tape.embeddingBag(table, ids: rows, offsets: (0...rows.count).map(Int32.init))
            let bagGrad: [Float] = rows.count == 2 ? [1, 1, 1, 0.01] : [1, 1]
            tape.backward((out * tape.constant(Tensor(shape: [rows.count, 2], scalars: bagGrad))).sum())
            opt.update(model)
            model.parameters.zeroGrad()
            table.zeroGrad()

            if decaysAt.contains(step) {
                dense0 = max(dense0 * 0.5, 0.1)
                dense1 = max(dense1 * 0.5, 0.1)
                row1 = max(row1 * 0.5, 0.1)
            }
            dense0 += 1
            dense1 += 0.0001
            row1 += 1
            if step == 6 || step == 7 { row0 = (max(row0.0 * 0.5, 0.1), max(row0.1 * 0.5, 0.1)) }
            if [1, 6, 7].contains(step) { row0 = (row0.0 + 1, row0.1 + 0.0001) }

            XCTAssertEqual(opt.decayPower, decaysAt.filter { $0 <= step }.count, "step \(step)")
            XCTAssertEqual(Double(opt.accumulator[0]), dense0, accuracy: 1e-6 * dense0, "step \(step)")
            XCTAssertEqual(Double(opt.accumulator[1]), dense1, accuracy: 1e-6 * dense1, "step \(step)")
            XCTAssertGreaterThanOrEqual(opt.accumulator[1], 0.1, "step \(step): below the baseline")
            XCTAssertEqual(Double(opt.embeddingAccumulator![1, 0]), row1, accuracy: 1e-6 * row1, "step \(step)")
            XCTAssertEqual(Double(opt.embeddingAccumulator![0, 0]), row0.0, accuracy: 1e-6 * row0.0, "step \(step)")
            XCTAssertEqual(Double(opt.embeddingAccumulator![0, 1]), row0.1, accuracy: 1e-6 * row0.1, "step \(step)")
            XCTAssertEqual(opt.embeddingDecayPower![1], Float(opt.decayPower), "step \(step): row 1 is touched every step")
            // Row 0: no decay at step 1 (0 periods), one at 6 (3 periods due), one more at 7.
            XCTAssertEqual(opt.embeddingDecayPower![0], step >= 7 ? 2 : step >= 6 ? 1 : 0, "step \(step)")
            XCTAssertEqual(opt.embeddingDecayPower![2], 0)
            XCTAssertEqual(opt.embeddingAccumulator![2, 0], 0.1)
        }
        // Row 0 after step 7: 0.1 + 1 = 1.1, halved to 0.55 + 1 at step 6, halved again + 1 at step 7.
        XCTAssertEqual(opt.embeddingAccumulator![0, 0], 1.775, accuracy: 1e-6)
    }

    /// A checkpoint taken after two updates and restored into a fresh model and optimizer continues
    /// bit for bit as the original does.
    func testStateRoundTripContinuesBitIdentically() throws {
        for kind in OptimizerKind.allCases {
            let a = try MMoEModel(Self.config, seed: 5)
            let optA = Self.make(kind, a)
            for step in 1...2 { Self.setGradients(a, step: step); optA.update(a) }
            let saved = state(optA), savedValues = a.parameters.values.copy(), savedTable = a.embedding!.value.copy()

            let b = try MMoEModel(Self.config, seed: 99)
            b.parameters.values.assign(savedValues)
            b.embedding!.value.assign(savedTable)
            let optB = Self.make(kind, b)
            try optB.restore(step: optA.step, tensors: saved)
            XCTAssertEqual(optB.step, 2, "\(kind)")

            for step in 3...4 {
                Self.setGradients(a, step: step); optA.update(a)
                Self.setGradients(b, step: step); optB.update(b)
            }
            XCTAssertEqual(bits(a.parameters.values), bits(b.parameters.values), "\(kind)")
            XCTAssertEqual(bits(a.embedding!.value), bits(b.embedding!.value), "\(kind)")
            let sa = optA.stateTensors(), sb = optB.stateTensors()
            XCTAssertEqual(sa.map(\.name), sb.map(\.name), "\(kind)")
            for (x, y) in zip(sa, sb) { XCTAssertEqual(bits(x.tensor), bits(y.tensor), "\(kind) \(x.name)") }
            XCTAssertEqual(optB.step, 4)
        }
    }

    func testRestoreRejectsWrongShapesAndNames() throws {
        let model = try MMoEModel(Self.config, seed: 5)
        let expectedNames: [OptimizerKind: [String]] = [
            .adam: ["adam.m", "adam.v", "adam.embedding.m", "adam.embedding.v"],
            .adamasync: ["adamasync.m", "adamasync.v", "adamasync.beta_powers",
                         "adamasync.embedding.m", "adamasync.embedding.v", "adamasync.embedding.beta_powers"],
            .adagrad: ["adagrad.accumulator", "adagrad.embedding.accumulator"],
            .adagraddecay: ["adagraddecay.accumulator", "adagraddecay.decay_power",
                            "adagraddecay.embedding.accumulator", "adagraddecay.embedding.decay_power"],
            .gradientdescent: [],
        ]
        for kind in OptimizerKind.allCases {
            let opt = Self.make(kind, model)
            XCTAssertEqual(opt.stateTensors().map(\.name), expectedNames[kind], "\(kind)")
            let good = state(opt)
            func rejects(_ tensors: [String: Tensor], step: Int = 3, mentioning text: String) {
                XCTAssertThrowsError(try opt.restore(step: step, tensors: tensors), "\(kind)") { error in
                    XCTAssert(error is OptimizerStateError, "\(kind): \(error)")
                    XCTAssert("\(error)".contains(text), "\(kind): \"\(error)\" does not mention \(text)")
                }
                XCTAssertEqual(opt.step, 0, "\(kind): a failed restore changed the step")
            }
            for name in expectedNames[kind]! {
                var wrong = good
                wrong[name] = Tensor(shape: [good[name]!.count + 1])
                rejects(wrong, mentioning: name)
                wrong[name] = nil
                rejects(wrong, mentioning: name)
            }
            var extra = good
            extra["sgd.momentum"] = Tensor(shape: [1])
            rejects(extra, mentioning: "sgd.momentum")
            rejects(good, step: -1, mentioning: "step")
            XCTAssertNoThrow(try opt.restore(step: 3, tensors: good))
            XCTAssertEqual(opt.step, 3)
        }
    }

    func testMakeOptimizerAndTrainerSettings() throws {
        let model = try MMoEModel(Self.config, seed: 5)
        XCTAssertEqual(OptimizerKind.allCases.map(\.rawValue), ["adam", "adamasync", "adagrad", "adagraddecay", "gradientdescent"])
        XCTAssert(makeOptimizer(.adam, for: model, learningRate: 0.1) is Adam)
        XCTAssert(makeOptimizer(.adamasync, for: model, learningRate: 0.1) is AdamAsync)
        XCTAssert(makeOptimizer(.gradientdescent, for: model, learningRate: 0.1) is GradientDescent)
        let adagrad = try XCTUnwrap(makeOptimizer(.adagrad, for: model, learningRate: 0.1) as? Adagrad)
        XCTAssertEqual(adagrad.initialAccumulator, 0.1)
        XCTAssertEqual(adagrad.accumulator[0], 0.1)
        let decay = try XCTUnwrap(makeOptimizer(.adagraddecay, for: model, learningRate: 0.1) as? AdagradDecay)
        XCTAssertEqual([decay.initialAccumulator, decay.decayRate], [0.1, 0.9])
        XCTAssertEqual(decay.decayStep, 100_000)
        XCTAssertEqual(TrainerSettings().optimizer, .adam)
    }

    /// Each optimizer, chosen through `TrainerSettings`, brings the loss down on easy data.
    func testEveryOptimizerTrains() throws {
        let train = TrainingTests.easyData(rows: 2000, seed: 1), test = TrainingTests.easyData(rows: 200, seed: 2)
        let config = MMoEConfig(denseWidth: 6, fieldRows: [5, 4], embeddingDim: 4, numExperts: 3, numTasks: 2, expertDNN: [16])
        let rates: [OptimizerKind: Float] = [.adam: 0.01, .adamasync: 0.01, .adagrad: 0.1, .adagraddecay: 0.1, .gradientdescent: 0.1]
        for kind in OptimizerKind.allCases {
            var settings = TrainerSettings()
            settings.optimizer = kind
            settings.learningRate = rates[kind]!
            settings.batchSize = 64
            settings.trainBatches = 150
            settings.lossPrintInterval = 1
            let trainer = Trainer(model: try MMoEModel(config, seed: 3), train: train, test: test, settings: settings)
            XCTAssertEqual(String(describing: type(of: trainer.optimizer)),
                           String(describing: type(of: makeOptimizer(kind, for: trainer.model, learningRate: 0.1))))
            var losses: [Double] = []
            _ = try trainer.run { if case .step(let r) = $0 { losses.append(r.taskLosses.reduce(0, +)) } }
            let early = losses.prefix(10).reduce(0, +) / 10, late = losses.suffix(30).reduce(0, +) / 30
            XCTAssertLessThan(late, early * 0.9, "\(kind): first 10 steps \(early), last 30 \(late)")
            XCTAssertEqual(trainer.optimizer.step, 150, "\(kind)")
        }
    }
}
