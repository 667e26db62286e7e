import XCTest
import Tensor
import Datasets
@testable import MMoE

/// The model against the plain-loop reference: logits, loss and every gradient (dense parameters
/// by central differences of the Double reference; embedding rows likewise).
final class MMoEModelTests: XCTestCase {
    let config = MMoEConfig(denseWidth: 3, fieldRows: [4, 3], embeddingDim: 2, numExperts: 3, numTasks: 2,
                            expertDNN: [5, 4], gateDNN: [3], towerDNN: [2])

    func makeBatch(_ b: Int, seed: UInt64) -> (Batch, dense: [[Double]], ids: [[Int]], labels: [[Double]]) {
        var rng = SeededRNG(seed: seed)
        let dense = (0..<b).map { _ in (0..<config.denseWidth).map { _ in Double(rng.nextUniform()) } }
        // Field f's ids live in its own range of the fused table.
        let ids = (0..<b).map { _ in [Int(rng.next() % 4), 4 + Int(rng.next() % 3)] }
        let labels = (0..<config.numTasks).map { _ in (0..<b).map { _ in Double(rng.next() % 2) } }
        let batch = Batch(size: b, dense: Tensor(shape: [b, 3], scalars: dense.flatMap { $0.map(Float.init) }),
                          ids: ids.flatMap { $0.map(Int32.init) },
                          labels: Tensor(shape: [config.numTasks, b], scalars: labels.flatMap { $0.map(Float.init) }))
        return (batch, dense, ids, labels)
    }

    /// Larger-than-default weights so the ReLUs and softmaxes are far from trivial.
    func makeModel() throws -> MMoEModel {
        let model = try MMoEModel(config, seed: 7)
        var rng = SeededRNG(seed: 8)
        model.parameters.values.withUnsafeMutableBufferPointer { v in for i in 0..<v.count { v[i] = rng.nextNormal() * 0.7 } }
        model.embedding!.value.withUnsafeMutableBufferPointer { v in for i in 0..<v.count { v[i] = rng.nextNormal() } }
        return model
    }

    func testLogitsLossAndGradientsMatchReference() throws {
        let model = try makeModel()
        let (batch, dense, ids, labels) = makeBatch(6, seed: 9)
        var rng = SeededRNG(seed: 1)
        let tape = Tape()
        let logits = model.logits(batch, tape: tape, training: true, rng: &rng)
        let loss = model.loss(logits: logits, labels: batch.labels)
        tape.backward(loss)

        var reference = ReferenceMMoE(model)
        let refLogits = reference.logits(dense: dense, ids: ids)
        for t in 0..<2 {
            for b in 0..<6 { XCTAssertEqual(Double(logits.value[t, b]), refLogits[t][b], accuracy: 1e-4 * max(1, abs(refLogits[t][b]))) }
        }
        let refLoss = reference.loss(dense: dense, ids: ids, labels: labels)
        XCTAssertEqual(Double(loss.value.item), refLoss, accuracy: 1e-4 * refLoss)

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
                XCTAssertEqual(Double(analytic[i]), numeric, accuracy: 1e-4 * max(abs(numeric), 1e-2), "\(p.name)[\(i)]")
                checked += 1
            }
        }
        let table = model.embedding!
        for row in 0..<table.rows {
            let g = table.gradient(ofRow: row)
            for j in 0..<table.dim {
                let numeric = numericGradient("embedding", row * table.dim + j)
                XCTAssertEqual(Double(g[j]), numeric, accuracy: 1e-4 * max(abs(numeric), 1e-2), "embedding row \(row)[\(j)]")
            }
        }
        XCTAssertEqual(checked, model.parameters.count)
        // Some gradient must be non-zero, or the comparison proves nothing.
        XCTAssertGreaterThan(model.parameters.grads.scalars.map(abs).max()!, 1e-3)
    }

    func testParameterLayoutAndInitialisation() throws {
        let c = MMoEConfig(denseWidth: 11, fieldRows: Array(repeating: 10, count: 29), embeddingDim: 4)
        let model = try MMoEModel(c, seed: 1)
        let specs = MMoEModel.parameterSpecs(c)
        XCTAssertEqual(specs.map(\.name), ["experts.layers.0.weight", "experts.layers.0.bias", "experts.layers.1.weight",
                                            "experts.layers.1.bias", "gates.out.weight", "towers.out.weight", "towers.out.bias"])
        XCTAssertEqual(model.parameters["experts.layers.0.weight"]!.shape, [3, 127, 256])
        XCTAssertEqual(model.parameters["gates.out.weight"]!.shape, [2, 127, 3])
        // Xavier-normal std for [127 -> 256] is sqrt(2 / 383); biases start at 0; embeddings ~1e-4.
        let w = model.parameters["experts.layers.0.weight"]!.value.scalars
        let std = (w.map { Double($0 * $0) }.reduce(0, +) / Double(w.count)).squareRoot()
        XCTAssertEqual(std, (2.0 / 383).squareRoot(), accuracy: 0.002)
        XCTAssertTrue(model.parameters["experts.layers.0.bias"]!.value.scalars.allSatisfy { $0 == 0 })
        let e = model.embedding!.value.scalars
        let estd = (e.map { Double($0 * $0) }.reduce(0, +) / Double(e.count)).squareRoot()
        XCTAssertEqual(estd, 1e-4, accuracy: 1e-5)
        XCTAssertEqual(model.embedding!.rows, 290)
    }

    func testConfigErrorsNameTheFlag() {
        var c = config
        c.expertDNN = []
        XCTAssertThrowsError(try MMoEModel(c, seed: 1)) { XCTAssertTrue("\($0)".contains("--expert_dnn")) }
        c = config
        c.dropout = 1
        XCTAssertThrowsError(try MMoEModel(c, seed: 1)) { XCTAssertTrue("\($0)".contains("--net_dropout")) }
    }
}
