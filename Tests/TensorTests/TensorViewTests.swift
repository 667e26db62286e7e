import XCTest
@testable import Tensor
import TestSupport

final class TensorViewTests: XCTestCase {
    let t = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])

    func testViewsShareStorage() {
        let tr = t.transposed()
        XCTAssertTrue(tr.storage === t.storage)
        XCTAssertEqual(tr.shape, [3, 2])
        XCTAssertEqual(tr.scalars, [1, 4, 2, 5, 3, 6])
        XCTAssertFalse(tr.isContiguous)
        let s = t.slice(1, 1..<3)
        XCTAssertTrue(s.storage === t.storage)
        XCTAssertEqual(s.scalars, [2, 3, 5, 6])
        s[0, 0] = 20
        XCTAssertEqual(t[0, 1], 20, "a write through a view is seen by the base tensor")
    }

    func testReshapeIsAViewWhenContiguousAndACopyOtherwise() {
        let r = t.reshaped([3, -1])
        XCTAssertTrue(r.storage === t.storage)
        XCTAssertEqual(r.shape, [3, 2])
        let rt = t.transposed().reshaped([6])
        XCTAssertFalse(rt.storage === t.storage)
        XCTAssertEqual(rt.scalars, [1, 4, 2, 5, 3, 6])
    }

    func testSelectDropsADimensionWithoutCopying() {
        let x = Tensor(shape: [2, 3, 4], scalars: (0..<24).map(Float.init))
        let s = x.select(0, 1)
        XCTAssertTrue(s.storage === x.storage)
        XCTAssertEqual(s.shape, [3, 4])
        XCTAssertEqual(s.scalars, (12..<24).map(Float.init))
        let st = x.transposed(1, 2).select(0, 1)   // [4, 3], a transposed view of block 1
        XCTAssertEqual(st.shape, [4, 3])
        XCTAssertEqual(st[3, 2], x[1, 2, 3])
        XCTAssertEqual(x.select(-1, 2).scalars, [2, 6, 10, 14, 18, 22])
    }

    func testExpandUnsqueezeAndContiguous() {
        let row = Tensor(shape: [3], scalars: [1, 2, 3])
        let e = row.expanded(to: [2, 3])
        XCTAssertEqual(e.strides, [0, 1])
        XCTAssertEqual(e.contiguous().scalars, [1, 2, 3, 1, 2, 3])
        XCTAssertEqual(row.unsqueezed(1).shape, [3, 1])
        XCTAssertEqual(row.unsqueezed(1).expanded(to: [3, 2]).scalars, [1, 1, 2, 2, 3, 3])
        XCTAssertEqual(Tensor(shape: [2, 1, 3], scalars: [1, 2, 3, 4, 5, 6]).permuted([2, 0, 1]).contiguous().scalars, [1, 4, 2, 5, 3, 6])
    }

    func testSizeOneAndEmptyShapes() {
        let one = Tensor(shape: [1, 1], scalars: [7])
        XCTAssertTrue(one.transposed().isContiguous)
        XCTAssertEqual(one.item, 7)
        let empty = Tensor(shape: [0, 3])
        XCTAssertEqual(empty.count, 0)
        XCTAssertEqual(empty.contiguous().scalars, [])
        XCTAssertEqual(t.slice(0, 1..<1).count, 0)
        XCTAssertEqual(Tensor(scalar: 3).rank, 0)
    }

    func testBroadcastShape() {
        XCTAssertEqual(Tensor.broadcastShape([2, 1, 5], [3, 1], op: "t"), [2, 3, 5])
        XCTAssertEqual(Tensor.broadcastShape([], [4], op: "t"), [4])
    }

    func testBroadcastKernelsAgainstScalarLoops() {
        // Shapes that hit every row form of the strided loop: dense, row-broadcast, column-broadcast, both.
        let cases: [([Int], [Int])] = [([37, 19], [37, 19]), ([5, 33], [33]), ([33, 5], [33, 1]), ([1, 17], [9, 1]), ([3, 1, 18], [4, 18])]
        for (i, (sa, sb)) in cases.enumerated() {
            let a = TestSupport.random(sa, seed: UInt64(i)), b = TestSupport.random(sb, seed: UInt64(i + 100), lo: 0.5, hi: 2)
            let shape = Tensor.broadcastShape(sa, sb, op: "test")
            let ea = a.expanded(to: shape).contiguous().scalars, eb = b.expanded(to: shape).contiguous().scalars
            XCTAssertEqual(Kernels.add(a, b).scalars, zip(ea, eb).map { $0 + $1 })
            XCTAssertEqual(Kernels.sub(a, b).scalars, zip(ea, eb).map { $0 - $1 })
            XCTAssertEqual(Kernels.mul(a, b).scalars, zip(ea, eb).map { $0 * $1 })
            XCTAssertEqual(Kernels.div(a, b).scalars, zip(ea, eb).map { $0 / $1 })
        }
    }

    func testSumOverAxes() {
        let x = TestSupport.random([3, 4, 5], seed: 1)
        let s = Kernels.sum(x, axes: [0, 2]).scalars
        XCTAssertEqual(s.count, 4)
        for j in 0..<4 {
            var ref: Float = 0
            for i in 0..<3 { for k in 0..<5 { ref += x[i, j, k] } }
            XCTAssertEqual(s[j], ref, accuracy: 1e-5)
        }
        // Summing a transposed (non-contiguous) view.
        let st = Kernels.sum(x.transposed(0, 2), axes: [2]).reshaped([5, 4])
        for k in 0..<5 { for j in 0..<4 {
            var ref: Float = 0
            for i in 0..<3 { ref += x[i, j, k] }
            XCTAssertEqual(st[k, j], ref, accuracy: 1e-5)
        } }
    }
}

final class MatmulOperandTests: XCTestCase {
    /// Reference product of two logical matrices read element by element.
    func reference(_ a: Tensor, _ b: Tensor) -> [Float] {
        let m = a.shape[0], k = a.shape[1], n = b.shape[1]
        var out = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n {
            var s = 0.0
            for p in 0..<k { s += Double(a[i, p]) * Double(b[p, j]) }
            out[i * n + j] = Float(s)
        } }
        return out
    }

    func testStridedOperandsAreReadCorrectly() {
        let base = TestSupport.random([9, 14], seed: 1)
        let other = TestSupport.random([12, 10], seed: 2)
        // Views: plain, column slice (row stride > width), transposed, transposed slice, and a
        // layout with no unit stride at all (must be copied).
        let views: [Tensor] = [
            base.slice(1, 0..<7),                    // [9, 7], lda 14
            base.transposed().slice(0, 2..<9),       // [7, 9], transposed
            Tensor(storage: base.storage, shape: [4, 7], strides: [28, 2], offset: 1),
        ]
        for a in views {
            let k = a.shape[1]
            for b in [other.slice(0, 0..<k).slice(1, 0..<5), other.transposed().slice(1, 0..<k).transposed().slice(1, 0..<3)] {
                let got = Kernels.matmul(a, b).scalars
                let ref = reference(a, b)
                for (g, r) in zip(got, ref) { XCTAssertEqual(g, r, accuracy: 1e-4) }
            }
        }
    }

    func testBatchedMatmulWithSharedOperandAndBias() {
        let x = TestSupport.random([5, 4], seed: 3)
        let w = TestSupport.random([3, 4, 6], seed: 4)
        let b = TestSupport.random([3, 6], seed: 5)
        let out = Kernels.batchedMatmul(x, w, bias: b, relu: true)
        XCTAssertEqual(out.shape, [3, 5, 6])
        for e in 0..<3 {
            let we = w.slice(0, e..<(e + 1)).reshaped([4, 6])
            let ref = reference(x, we)
            for i in 0..<5 { for j in 0..<6 {
                XCTAssertEqual(out[e, i, j], max(ref[i * 6 + j] + b[e, j], 0), accuracy: 1e-5)
            } }
        }
    }
}

final class DeterminismTests: XCTestCase {
    /// A small expert/gate network, forward and backward; returns the loss and all gradients' bits.
    func run(threads: Int) -> [UInt32] {
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        Parallel.threads = threads
        let store = ParameterStore([("experts", [4, 48, 64]), ("expertBias", [4, 64]), ("gate", [48, 4]), ("tower", [64, 1])])
        for (i, p) in store.parameters.enumerated() { p.value.assign(TestSupport.random(p.shape, seed: UInt64(i + 1), lo: -0.3, hi: 0.3)) }
        let x = TestSupport.random([300, 48], seed: 11)
        let y = Tensor(shape: [300, 1], scalars: (0..<300).map { Float($0 % 2) })
        let tape = Tape()
        let xv = tape.constant(x)
        let experts = xv.linear(tape.parameter(store["experts"]!), tape.parameter(store["expertBias"]!), activation: .relu) // [E, B, H]
        let gate = xv.matmul(tape.parameter(store["gate"]!)).softmax(axis: -1)                                              // [B, E]
        let mixed = (experts * gate.transposed().reshaped([4, 300, 1])).sum(axes: [0])                                       // [B, H]
        var rng = SeededRNG(seed: 5)
        let logits = mixed.dropout(rate: 0.2, training: true, rng: &rng).matmul(tape.parameter(store["tower"]!))
        let loss = logits.bceWithLogits(y)
        tape.backward(loss)
        return [loss.value.item.bitPattern] + TestSupport.bits(store.grads)
    }

    func testOneAndTwoThreadsAreBitIdentical() {
        XCTAssertEqual(run(threads: 1), run(threads: 2))
    }
}
