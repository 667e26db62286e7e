import XCTest
import Foundation
import Tensor
@testable import MMoE

final class AdamTests: XCTestCase {
    /// Three Adam steps on made-up gradients against the update written out in Double; embedding
    /// rows not touched in a step keep their value and moments (lazy update).
    func testMatchesScalarAdamAndIsLazyOnEmbeddingRows() throws {
        let config = MMoEConfig(denseWidth: 2, fieldRows: [3], embeddingDim: 2, numExperts: 1, numTasks: 1, expertDNN: [2])
        let model = try MMoEModel(config, seed: 1)
        let adam = Adam(for: model, learningRate: 0.01)
        let p0 = model.parameters.values.scalars.map(Double.init)
        let e0 = model.embedding!.value.scalars.map(Double.init)
        var p = p0, m = [Double](repeating: 0, count: p0.count), v = m
        var e = e0, em = [Double](repeating: 0, count: e0.count), ev = em
        let (b1, b2, eps, lr) = (0.9, 0.999, 1e-8, 0.01)
        func reference(_ x: inout [Double], _ m: inout [Double], _ v: inout [Double], _ i: Int, _ g: Double, _ t: Int) {
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            x[i] -= lr * (m[i] / (1 - pow(b1, Double(t)))) / ((v[i] / (1 - pow(b2, Double(t)))).squareRoot() + eps)
        }
        for step in 1...3 {
            let grads = (0..<p.count).map { Float(sin(Double($0 + step))) }
            model.parameters.grads.withUnsafeMutableBufferPointer { g in for i in 0..<g.count { g[i] = grads[i] } }
            // Only row 1 is used in step 2; rows 0 and 2 otherwise.
            let rows: [Int32] = step == 2 ? [1] : [0, 2]
            let bagGrad = Tensor(shape: [rows.count, 2], scalars: (0..<(rows.count * 2)).map { Float($0 + step) * 0.1 })
            let tape = Tape()
            let out = tape.embeddingBag(model.embedding!, ids: rows, offsets: (0...rows.count).map(Int32.init))
            tape.backward((out * tape.constant(bagGrad)).sum())
            adam.update(model)
            for i in p.indices { reference(&p, &m, &v, i, Double(grads[i]), step) }
            for (k, r) in rows.enumerated() {
                for j in 0..<2 { reference(&e, &em, &ev, Int(r) * 2 + j, Double(bagGrad[k, j]), step) }
            }
            model.parameters.zeroGrad()
            model.embedding!.zeroGrad()
        }
        for (a, b) in zip(model.parameters.values.scalars, p) { XCTAssertEqual(Double(a), b, accuracy: 1e-6) }
        for (a, b) in zip(model.embedding!.value.scalars, e) { XCTAssertEqual(Double(a), b, accuracy: 1e-6) }
        // Row 1 moved only in step 2, so its second moment saw one gradient.
        XCTAssertEqual(Double(adam.embeddingV![1, 0]), ev[2], accuracy: 1e-9)
        XCTAssertEqual(adam.step, 3)
    }
}
