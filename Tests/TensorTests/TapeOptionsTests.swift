import XCTest
import Tensor
import TestSupport

/// `TapeOptions`: unfused dense layers give the fused values and gradients as three recorded ops;
/// bfloat16 tapes compute every GEMM on rounded operands.
final class TapeOptionsTests: XCTestCase {
    func r(_ shape: [Int], _ seed: UInt64) -> Tensor { TestSupport.random(shape, seed: seed) }

    struct Run {
        let value: Tensor
        let grads: [Tensor?]
        let ops: Int
    }

    /// out = linear(x, W, b) on a tape with `options`; backward of Σ out ⊙ R.
    func runLinear(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ act: Activation, _ options: TapeOptions) -> Run {
        let tape = Tape(options: options)
        let vx = tape.variable(x), vw = tape.variable(w), vb = b.map { tape.variable($0) }
        let out = vx.linear(vw, vb, activation: act)
        let ops = tape.recordedOpCount
        let rr = r(out.shape, 77)
        tape.backward((out * tape.constant(rr)).sum())
        return Run(value: out.value, grads: [tape.gradient(of: vx), tape.gradient(of: vw), vb.flatMap { tape.gradient(of: $0) }], ops: ops)
    }

    func testDefaults() {
        XCTAssertEqual(Tape().options, TapeOptions())
        XCTAssertTrue(TapeOptions().fuseEpilogues)
        XCTAssertFalse(TapeOptions().bfloat16)
        XCTAssertNil(Tape().timeline)
    }

    func testUnfusedLinearMatchesFused() {
        // [B, D] x [D, H]; shared [B, D] and per-expert [E, B, D] x [E, D, H]; [E, H] and [H] biases.
        // H = 40 takes the blocked GEMM kernel, H = 3 the small-n path.
        let cases: [([Int], [Int], [Int]?)] = [
            ([37, 19], [19, 40], [40]), ([37, 19], [19, 3], [3]), ([6, 5], [5, 3], nil),
            ([37, 19], [3, 19, 40], [3, 40]), ([3, 37, 19], [3, 19, 40], [3, 40]),
            ([3, 37, 19], [3, 19, 5], [5]), ([2, 9, 4], [2, 4, 33], nil),
        ]
        for (i, (xs, ws, bs)) in cases.enumerated() {
            let x = r(xs, UInt64(10 * i + 1)), w = r(ws, UInt64(10 * i + 2)), b = bs.map { r($0, UInt64(10 * i + 3)) }
            for act in [Activation.none, .relu] {
                let fused = runLinear(x, w, b, act, TapeOptions())
                let unfused = runLinear(x, w, b, act, TapeOptions(fuseEpilogues: false))
                let label = "x \(xs) w \(ws) b \(bs.map { "\($0)" } ?? "none") \(act)"
                XCTAssertEqual(fused.ops, 1, label)
                XCTAssertEqual(unfused.ops, 1 + (b == nil ? 0 : 1) + (act == .relu ? 1 : 0), label)
                XCTAssertEqual(TestSupport.bits(unfused.value), TestSupport.bits(fused.value), "values differ: \(label)")
                for (k, (gf, gu)) in zip(fused.grads, unfused.grads).enumerated() {
                    guard let gf, let gu else { XCTAssertTrue(gf == nil && gu == nil, label); continue }
                    XCTAssertEqual(gf.shape, gu.shape, label)
                    let worst = zip(gf.contiguous().scalars, gu.contiguous().scalars).map { abs($0 - $1) }.max() ?? 0
                    XCTAssertLessThanOrEqual(worst, 1e-5, "gradient \(k): \(label)")
                }
            }
        }
    }

    func round(_ t: Tensor) -> Tensor { Tensor(shape: t.shape, scalars: t.contiguous().scalars.map(roundToBFloat16)) }

    /// A bfloat16 tape's dense layer (value, dx, dW) equals the Float computation on pre-rounded
    /// operands, bit for bit: rounding happens where the GEMM packs, nowhere else.
    func testBFloat16LinearEqualsPreRounded() {
        let x = r([37, 19], 1), w = r([19, 40], 2), b = r([40], 3)
        for fuse in [true, false] {
            let tape = Tape(options: TapeOptions(fuseEpilogues: fuse, bfloat16: true))
            let vx = tape.variable(x), vw = tape.variable(w)
            let out = vx.linear(vw, tape.variable(b))
            let rr = r(out.shape, 4)
            tape.backward((out * tape.constant(rr)).sum())
            let want = Kernels.matmul(round(x), round(w), bias: b)
            XCTAssertEqual(TestSupport.bits(out.value), TestSupport.bits(want), "fuse \(fuse)")
            let wantDx = Kernels.matmul(round(rr), round(w).transposed())
            let wantDw = Kernels.matmul(round(x).transposed(), round(rr))
            XCTAssertEqual(TestSupport.bits(tape.gradient(of: vx)!), TestSupport.bits(wantDx), "dx, fuse \(fuse)")
            XCTAssertEqual(TestSupport.bits(tape.gradient(of: vw)!), TestSupport.bits(wantDw), "dW, fuse \(fuse)")
            // And it is a real rounding: close to the Float result, not equal to it.
            let exact = Kernels.matmul(x, w, bias: b)
            let diffs = zip(out.value.scalars, exact.scalars).map { abs($0 - $1) }
            XCTAssertGreaterThan(diffs.max()!, 0)
            XCTAssertLessThan(diffs.max()!, 0.1)
        }
    }

    /// Batched (the experts' layer) and plain matmul also round on a bfloat16 tape.
    func testBFloat16BatchedAndMatmul() {
        let x = r([37, 19], 5), w = r([3, 19, 40], 6), b = r([3, 40], 7)
        let tape = Tape(options: TapeOptions(bfloat16: true))
        let out = tape.variable(x).linear(tape.variable(w), tape.variable(b), activation: .relu)
        XCTAssertEqual(TestSupport.bits(out.value),
                       TestSupport.bits(Kernels.batchedMatmul(round(x), round(w), bias: b, relu: true)))
        let a = r([7, 13], 8), c = r([13, 5], 9)
        let p = tape.variable(a).matmul(tape.variable(c))
        XCTAssertEqual(TestSupport.bits(p.value), TestSupport.bits(Kernels.matmul(round(a), round(c))))
    }
}
