import XCTest
import Tensor
import TestSupport

/// Every op's backward against central finite differences, on shapes with size-1 and odd dimensions.
final class OpGradientTests: XCTestCase {
    func check(_ inputs: [Tensor], options: TapeOptions = TapeOptions(), file: StaticString = #filePath, line: UInt = #line,
               _ build: (Tape, [Variable]) -> Variable) {
        let bad = TestSupport.gradientMismatches(inputs, options: options, build)
        XCTAssert(bad.isEmpty, "gradient mismatches: \(bad.prefix(5))", file: file, line: line)
    }

    func r(_ shape: [Int], _ seed: UInt64, lo: Float = -1, hi: Float = 1, away: Float = 0) -> Tensor {
        TestSupport.random(shape, seed: seed, lo: lo, hi: hi, awayFrom: away)
    }

    func testAddSubBroadcast() {
        check([r([3, 4], 1), r([4], 2)]) { _, v in v[0] + v[1] }
        check([r([2, 1, 5], 3), r([3, 1], 4)]) { _, v in v[0] - v[1] }
        check([r([1], 5), r([4, 1], 6)]) { _, v in v[0] + v[1] }
        check([r([1, 1], 7), r([1, 1], 8)]) { _, v in v[0] - v[1] }
    }

    func testMulDivBroadcast() {
        check([r([3, 4], 9), r([3, 1], 10)]) { _, v in v[0] * v[1] }
        check([r([2, 3, 5], 11), r([5], 12, lo: 0.5, hi: 2)]) { _, v in v[0] / v[1] }
        check([r([1, 7], 13), r([3, 1], 14, lo: 0.5, hi: 2)]) { _, v in v[0] / v[1] }
        check([r([5], 15)]) { _, v in v[0] * v[0] } // a reused input accumulates both paths
        check([r([4, 3], 16)]) { _, v in v[0].scaled(by: -2.5) }
    }

    func testMatmul2D() {
        check([r([1, 1], 20), r([1, 1], 21)]) { _, v in v[0].matmul(v[1]) }
        check([r([7, 13], 22), r([13, 5], 23)]) { _, v in v[0].matmul(v[1]) }
        // Transposed views go to the GEMM as transpose flags.
        check([r([13, 7], 24), r([5, 13], 25)]) { _, v in v[0].transposed().matmul(v[1].transposed()) }
    }

    func testMatmulBatched() {
        check([r([3, 4, 5], 26), r([3, 5, 2], 27)]) { _, v in v[0].matmul(v[1]) }
        check([r([4, 5], 28), r([3, 5, 2], 29)]) { _, v in v[0].matmul(v[1]) }   // shared left operand
        check([r([3, 4, 5], 30), r([5, 2], 31)]) { _, v in v[0].matmul(v[1]) }   // shared right operand
        check([r([1, 1, 1], 32), r([1, 1, 3], 33)]) { _, v in v[0].matmul(v[1]) }
    }

    func testLinear() {
        check([r([6, 5], 40), r([5, 3], 41), r([3], 42)]) { _, v in v[0].linear(v[1], v[2]) }
        check([r([6, 5], 43), r([5, 3], 44)]) { _, v in v[0].linear(v[1], nil) }
        // ReLU fused: keep pre-activations away from 0 by using a large bias of either sign.
        check([r([1, 1], 45, away: 0.5), r([1, 3], 46, away: 0.5), r([3], 47, lo: -3, hi: 3, away: 2.5)]) { _, v in
            v[0].linear(v[1], v[2], activation: .relu)
        }
        // Experts as one batched layer: shared input [B, D], weights [E, D, H], bias [E, H].
        check([r([4, 3], 48), r([3, 3, 2], 49), r([3, 2], 50)]) { _, v in v[0].linear(v[1], v[2]) }
        check([r([3, 4, 3], 51), r([3, 3, 2], 52), r([3, 2], 53)]) { _, v in v[0].linear(v[1], v[2]) }
    }

    func testLinearReluAwayFromKink() {
        // Pre-activations = x·W + b with |b| large relative to |x·W| so none sits near 0.
        let x = r([5, 4], 54, lo: -0.1, hi: 0.1), w = r([4, 6], 55, lo: -0.1, hi: 0.1), b = r([6], 56, lo: -1, hi: 1, away: 0.5)
        check([x, w, b]) { _, v in v[0].linear(v[1], v[2], activation: .relu) }
        check([x, r([2, 4, 6], 57, lo: -0.1, hi: 0.1), r([2, 6], 58, away: 0.5)]) { _, v in v[0].linear(v[1], v[2], activation: .relu) }
    }

    /// `linear` without fused epilogues: matmul, bias_add and relu as separate ops.
    func testLinearUnfused() {
        let unfused = TapeOptions(fuseEpilogues: false)
        check([r([6, 5], 140), r([5, 3], 141), r([3], 142)], options: unfused) { _, v in v[0].linear(v[1], v[2]) }
        check([r([6, 5], 143), r([5, 3], 144)], options: unfused) { _, v in v[0].linear(v[1], nil) }
        let x = r([5, 4], 145, lo: -0.1, hi: 0.1), w = r([4, 6], 146, lo: -0.1, hi: 0.1), b = r([6], 147, away: 0.5)
        check([x, w, b], options: unfused) { _, v in v[0].linear(v[1], v[2], activation: .relu) }
        // Batched: shared [B, D] and per-expert [E, B, D] inputs, W [E, D, H], b [E, H] (and a shared [H]).
        check([r([4, 3], 148), r([3, 3, 2], 149), r([3, 2], 150)], options: unfused) { _, v in v[0].linear(v[1], v[2]) }
        check([r([3, 4, 3], 151), r([3, 3, 2], 152), r([3, 2], 153)], options: unfused) { _, v in v[0].linear(v[1], v[2]) }
        check([r([3, 4, 3], 154), r([3, 3, 2], 155), r([2], 156)], options: unfused) { _, v in v[0].linear(v[1], v[2]) }
        check([x, r([2, 4, 6], 157, lo: -0.1, hi: 0.1), r([2, 6], 158, away: 0.5)], options: unfused) { _, v in
            v[0].linear(v[1], v[2], activation: .relu)
        }
        check([r([2, 5, 4], 159, lo: -0.1, hi: 0.1), r([2, 4, 6], 160, lo: -0.1, hi: 0.1), r([2, 6], 161, away: 0.5)],
              options: unfused) { _, v in v[0].linear(v[1], v[2], activation: .relu) }
    }

    func testBiasAdd() {
        check([r([4, 3], 162), r([3], 163)]) { _, v in v[0].biasAdd(v[1]) }
        check([r([2, 4, 3], 164), r([2, 3], 165)]) { _, v in v[0].biasAdd(v[1]) }
        check([r([2, 4, 3], 166), r([3], 167)]) { _, v in v[0].biasAdd(v[1]) }
    }

    func testActivations() {
        check([r([3, 7], 60, away: 0.05)]) { _, v in v[0].relu() }
        check([r([3, 7], 61, lo: -4, hi: 4)]) { _, v in v[0].sigmoid() }
        check([r([1, 9], 62, lo: -2, hi: 2)]) { _, v in v[0].tanh() }
    }

    func testSoftmax() {
        check([r([3, 5], 70, lo: -3, hi: 3)]) { _, v in v[0].softmax(axis: -1) }
        check([r([3, 5], 71, lo: -3, hi: 3)]) { _, v in v[0].softmax(axis: 0) }
        check([r([2, 3, 4], 72, lo: -3, hi: 3)]) { _, v in v[0].softmax(axis: 1) }
        check([r([4, 1], 73)]) { _, v in v[0].softmax(axis: 1) }
        check([r([3, 5], 74, lo: -3, hi: 3)]) { _, v in v[0].logSoftmax(axis: -1) }
        check([r([2, 3, 4], 75, lo: -3, hi: 3)]) { _, v in v[0].logSoftmax(axis: 0) }
    }

    func testReductions() {
        check([r([3, 4, 5], 80)]) { _, v in v[0].sum(axes: [1]) }
        check([r([3, 4, 5], 81)]) { _, v in v[0].sum(axes: [0, 2], keepDims: true) }
        check([r([3, 4, 5], 82)]) { _, v in v[0].sum() }
        check([r([3, 4, 5], 83)]) { _, v in v[0].mean(axes: [-1]) }
        check([r([1, 7], 84)]) { _, v in v[0].mean() }
    }

    func testGatedMixture() {
        // T=2, B=5, E=3, H=7; size-1 task and expert counts; gates through a softmax as in MMoE.
        check([r([2, 5, 3], 60), r([3, 5, 7], 61)]) { _, v in gatedMixture(gates: v[0], experts: v[1]) }
        check([r([1, 4, 1], 62), r([1, 4, 3], 63)]) { _, v in gatedMixture(gates: v[0], experts: v[1]) }
        check([r([3, 2, 4], 64), r([4, 2, 5], 65)]) { _, v in gatedMixture(gates: v[0].softmax(axis: -1), experts: v[1]) }
    }

    func testGatedMixtureMatchesBroadcastForm() {
        let g = r([2, 5, 3], 66), x = r([3, 5, 7], 67)
        let tape = Tape(recording: false)
        let fused = gatedMixture(gates: tape.constant(g), experts: tape.constant(x)).value
        // out[t] = Σ_e g[t, :, e, None] * x[e]
        let gv = tape.constant(g.permuted([0, 2, 1]).contiguous().reshaped([2, 3, 5, 1]))
        let viaBroadcast = (gv * tape.constant(x.reshaped([1, 3, 5, 7]))).sum(axes: [1]).value
        XCTAssertEqual(fused.shape, [2, 5, 7])
        for (a, b) in zip(fused.scalars, viaBroadcast.scalars) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    func testConcatStackReshapeTranspose() {
        check([r([2, 3], 90), r([2, 1], 91), r([2, 4], 92)]) { _, v in concat(v, axis: 1) }
        check([r([1, 3], 93), r([2, 3], 94)]) { _, v in concat(v, axis: 0) }
        check([r([2, 3], 95), r([2, 3], 96)]) { _, v in stack(v, axis: 1) }
        check([r([2, 3, 4], 97)]) { _, v in v[0].reshaped([4, -1]) }
        check([r([2, 3, 4], 98)]) { _, v in v[0].transposed(0, 2) * v[0].permuted([2, 1, 0]) }
    }

    func testDropout() {
        // The same seed gives the same mask in every evaluation, so differences are well defined.
        check([r([4, 9], 100)]) { _, v in
            var rng = SeededRNG(seed: 7)
            return v[0].dropout(rate: 0.3, training: true, rng: &rng)
        }
    }

    func testLosses() {
        let targets = Tensor(shape: [3, 2], scalars: [1, 0, 0, 1, 1, 0.5])
        check([r([3, 2], 110, lo: -3, hi: 3)]) { _, v in v[0].bceWithLogits(targets) }
        check([r([3, 2], 111)]) { _, v in v[0].mse(targets) }
    }

    func testComposite() {
        // A small gated mixture: softmax gate over 3 experts weighting expert outputs.
        check([r([4, 5], 120), r([3, 5, 2], 121), r([5, 3], 122)]) { _, v in
            let experts = v[0].linear(v[1], nil)                       // [E, B, H]
            let gate = v[0].matmul(v[2]).softmax(axis: -1)             // [B, E]
            let g = gate.transposed().reshaped([3, 4, 1])              // [E, B, 1]
            return (experts * g).sum(axes: [0]).sigmoid()              // [B, H]
        }
    }
}

/// A deliberately wrong backward (d(x²)/dx taken as x instead of 2x), to prove the checker can fail.
private struct WrongSquareBackward: BackwardOp {
    let input: Int, x: Tensor
    func backward(_ grad: Tensor, _ tape: Tape) { tape.accumulate(input, Kernels.mul(grad, x)) }
}

final class GradientCheckerTests: XCTestCase {
    func testCheckerRejectsAWrongGradient() {
        let bad = TestSupport.gradientMismatches([TestSupport.random([3, 4], seed: 1)]) { tape, v in
            tape.record(Kernels.mul(v[0].value, v[0].value), input: v[0]) { WrongSquareBackward(input: v[0].id, x: v[0].value) }
        }
        XCTAssertFalse(bad.isEmpty, "a wrong gradient must be reported")
    }
}
