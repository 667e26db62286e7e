import XCTest
@testable import Tensor
import TestSupport

/// The non-GEMM kernels of a training step (issue 16): the fused gated-mixture backward, the
/// fused ReLU-mask-and-bias-gradient pass of a dense layer, the softmax backward, and the dense
/// passes spread over the threads (shard-gradient sum, L2, zeroing). Rows are wider than 16 so
/// the 16-lane loops and their scalar tails both run.
final class StepKernelTests: XCTestCase {
    func check(_ inputs: [Tensor], file: StaticString = #filePath, line: UInt = #line, _ build: (Tape, [Variable]) -> Variable) {
        let bad = TestSupport.gradientMismatches(inputs, build)
        XCTAssert(bad.isEmpty, "gradient mismatches: \(bad.prefix(5))", file: file, line: line)
    }

    func r(_ shape: [Int], _ seed: UInt64, lo: Float = -1, hi: Float = 1, away: Float = 0) -> Tensor {
        TestSupport.random(shape, seed: seed, lo: lo, hi: hi, awayFrom: away)
    }

    func testGatedMixtureWideRowsGradient() {
        // H = 37: two 16-lane blocks and a tail of 5, for the forward and both gradients.
        check([r([2, 3, 3], 1), r([3, 3, 37], 2)]) { _, v in gatedMixture(gates: v[0], experts: v[1]) }
        check([r([2, 2, 4], 3), r([4, 2, 32], 4)]) { _, v in gatedMixture(gates: v[0].softmax(axis: -1), experts: v[1]) }
    }

    func testGatedMixtureWideRowsMatchTheSum() {
        let g = r([2, 3, 4], 5), x = r([4, 3, 37], 6)
        let out = Kernels.gatedMixture(g, x)
        for t in 0..<2 {
            for b in 0..<3 {
                for j in 0..<37 {
                    var s: Float = 0
                    for e in 0..<4 { s += g[t, b, e] * x[e, b, j] }
                    XCTAssertEqual(out[t, b, j], s, "out[\(t), \(b), \(j)]: the same products in the same order")
                }
            }
        }
        // Both gradients against the plain loops (the gates' dot products are summed in another
        // order, so to rounding).
        let dout = r([2, 3, 37], 7)
        let (dg, dx) = Kernels.gatedMixtureBackward(dout, g, x, gatesGrad: true, expertsGrad: true)
        for t in 0..<2 {
            for b in 0..<3 {
                for e in 0..<4 {
                    var s: Float = 0
                    for j in 0..<37 { s += dout[t, b, j] * x[e, b, j] }
                    XCTAssertEqual(dg![t, b, e], s, accuracy: 1e-5)
                }
            }
        }
        for e in 0..<4 {
            for b in 0..<3 {
                for j in 0..<37 {
                    var s: Float = 0
                    for t in 0..<2 { s += g[t, b, e] * dout[t, b, j] }
                    XCTAssertEqual(dx![e, b, j], s)
                }
            }
        }
        let onlyExperts = Kernels.gatedMixtureBackward(dout, g, x, gatesGrad: false, expertsGrad: true)
        XCTAssertNil(onlyExperts.gates)
        XCTAssertEqual(onlyExperts.experts!.scalars, dx!.scalars)
    }

    func testLinearReluWideRowsGradient() {
        // Pre-activations kept away from the kink: |b| large next to |x·W|. H = 35.
        let x = r([3, 2], 10, lo: -0.1, hi: 0.1)
        check([x, r([2, 35], 11, lo: -0.1, hi: 0.1), r([35], 12, away: 0.5)]) { _, v in v[0].linear(v[1], v[2], activation: .relu) }
        // Experts: W [E, D, H], b [E, H]; and a shared [H] bias over a batched layer.
        check([x, r([2, 2, 35], 13, lo: -0.1, hi: 0.1), r([2, 35], 14, away: 0.5)]) { _, v in v[0].linear(v[1], v[2], activation: .relu) }
        check([r([2, 3, 2], 15, lo: -0.1, hi: 0.1), r([2, 2, 35], 16, lo: -0.1, hi: 0.1), r([35], 17, away: 0.5)]) { _, v in
            v[0].linear(v[1], v[2], activation: .relu)
        }
        check([r([2, 3, 2], 18), r([2, 2, 33], 19), r([2, 33], 20)]) { _, v in v[0].linear(v[1], v[2]) }
    }

    /// The fused pass gives the bits of the separate ReLU mask and broadcast sum it replaces.
    func testEpilogueBackwardMatchesSeparatePasses() {
        for (shape, bias) in [([7, 35], [35]), ([3, 6, 35], [3, 35]), ([3, 6, 35], [35]), ([2, 4, 5], [2, 5])] {
            let grad = r(shape, 21), out = r(shape, 22)
            let view = bias.count == 2 ? [bias[0], 1, bias[1]] : bias
            let dz = Kernels.reluBackward(grad, out)
            let (fusedDz, fusedDb) = Kernels.epilogueBackward(grad, out: out, relu: true, biasShape: bias)
            XCTAssertEqual(fusedDz.scalars, dz.scalars, "\(shape)")
            XCTAssertEqual(fusedDb!.scalars, Kernels.sumToShape(dz, view).scalars, "\(shape) bias \(bias)")
            let (plain, db) = Kernels.epilogueBackward(grad, out: grad, relu: false, biasShape: bias)
            XCTAssertEqual(plain.scalars, grad.scalars)
            XCTAssertEqual(db!.scalars, Kernels.sumToShape(grad, view).scalars, "\(shape) bias \(bias), no ReLU")
        }
        // A transposed (non-contiguous) gradient is read as its logical values.
        let g = r([35, 6], 23).transposed(), y = r([6, 35], 24)
        XCTAssertEqual(Kernels.epilogueBackward(g, out: y, relu: true, biasShape: [35]).dz.scalars, Kernels.reluBackward(g, y).scalars)
    }

    func testSoftmaxWideRowsGradient() {
        check([r([3, 37], 30, lo: -3, hi: 3)]) { _, v in v[0].softmax(axis: -1) }
        check([r([2, 3, 4], 31, lo: -3, hi: 3)]) { _, v in v[0].softmax(axis: -1) }
    }

    /// The one-pass softmax backward gives the bits of the broadcast ops it replaces.
    func testSoftmaxBackwardMatchesBroadcastOps() {
        for shape in [[2, 5, 3], [3, 37], [4, 16]] {
            let y = Kernels.alongLastAxis(r(shape, 32, lo: -3, hi: 3), axis: shape.count - 1) { x, y, n in Kernels.softmaxRow(x, y, n) }
            let dy = r(shape, 33)
            let s = Kernels.sum(Kernels.mul(dy, y), axes: [shape.count - 1])
            let expected = Kernels.mul(y, Kernels.sub(dy, s))
            XCTAssertEqual(Kernels.softmaxBackwardLastAxis(dy, y).scalars, expected.scalars, "\(shape)")
        }
    }

    /// Embedding bags on rows of 21 (a 16-lane block, a 4-lane block and a tail): forward and the
    /// sparse gradient give the bits of plain loops in the same order, with sum and mean.
    func testEmbeddingBagWideRowsMatchPlainLoops() {
        let d = 21, v = 9
        let values = r([v, d], 50)
        let ids: [Int32] = [1, 4, 6, 2, 2, 5, 4, 8]
        let offsets: [Int32] = [0, 2, 2, 3, 6, 8]
        let dout = r([5, d], 51)
        for combiner in [EmbeddingCombiner.sum, .mean] {
            let table = EmbeddingTable(name: "t", value: values)
            let tape = Tape()
            let out = tape.embeddingBag(table, ids: ids, offsets: offsets, combiner: combiner)
            tape.backward((out * tape.constant(dout)).sum())
            var expectedGrad = [Int: [Float]]()
            for bag in 0..<5 {
                let lo = Int(offsets[bag]), hi = Int(offsets[bag + 1])
                var row = [Float](repeating: 0, count: d)
                for k in lo..<hi { for j in 0..<d { row[j] += values[Int(ids[k]), j] } }
                if combiner == .mean && hi - lo > 1 { for j in 0..<d { row[j] *= 1 / Float(hi - lo) } }
                XCTAssertEqual(out.value.slice(0, bag..<(bag + 1)).scalars, row, "\(combiner) bag \(bag)")
                let scale: Float = combiner == .mean && hi > lo ? 1 / Float(hi - lo) : 1
                for k in lo..<hi {
                    var g = expectedGrad[Int(ids[k])] ?? [Float](repeating: 0, count: d)
                    for j in 0..<d { g[j] += scale * dout[bag, j] }
                    expectedGrad[Int(ids[k])] = g
                }
            }
            XCTAssertEqual(table.touchedRows, [1, 4, 6, 2, 5, 8], "rows in first-touched order")
            for (row, g) in expectedGrad { XCTAssertEqual(table.gradient(ofRow: row), g, "\(combiner) row \(row)") }
        }
    }

    /// The shard-gradient sum, L2 over ranges and zeroing, over 70,000 elements (five 16k chunks:
    /// spread over the threads), give the same bits as plain loops, on 1 and 2 threads.
    func testDensePassesAreExactOnAnyThreadCount() {
        let n = 70_000
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        let a = r([n], 40), b = r([n], 41), w = r([n], 42)
        let ranges = [0..<10, 100..<40_000, 40_005..<69_999]
        let bs = b.scalars, ws = w.scalars
        var expectedSum = a.scalars, expectedL2 = a.scalars
        for i in 0..<n { expectedSum[i] += bs[i] }
        for range in ranges { for i in range { expectedL2[i] += 0.25 * ws[i] } }
        for threads in [1, 2] {
            Parallel.threads = threads
            let dst = a.contiguousCopy(), src = b.contiguousCopy()
            Kernels.addAndZero(dst, src)
            XCTAssertEqual(dst.scalars, expectedSum, "\(threads) threads")
            XCTAssertTrue(src.scalars.allSatisfy { $0 == 0 })
            let y = a.contiguousCopy()
            Kernels.axpy(0.25, w, into: y, ranges: ranges)
            XCTAssertEqual(y.scalars, expectedL2, "\(threads) threads")
            Kernels.zero(y)
            XCTAssertTrue(y.scalars.allSatisfy { $0 == 0 })
        }
    }

    /// The fused optimizer pass (`ShardGradients`): each dense optimizer, reading its gradient as
    /// the model's plus two further shards' plus L2 on the L2 ranges, gives the bits of the same
    /// optimizer over the gradient summed first (element by element, in that order). 70,001
    /// elements: several chunks on both threads and a scalar tail; L2 ranges that start and end
    /// inside 16-lane blocks and chunks, and a block with one lane in L2.
    func testShardGradientSumIsTheSummedGradientsUpdate() {
        let n = 70_001
        let g = r([n], 1), p1 = r([n], 2), p2 = r([n], 3), w = r([n], 4), state = r([n], 5, lo: 0.01, hi: 1)
        let l2: Float = 0.37, ranges = [3..<40, 40..<41, 77..<20_000, 20_003..<20_004, 33_000..<n]
        let (gs, a, b, ws) = (g.scalars, p1.scalars, p2.scalars, w.scalars)
        var summed = [Float](repeating: 0, count: n)
        for i in 0..<n {
            var v = gs[i]
            v = v + a[i]
            v = v + b[i]
            if ranges.contains(where: { $0.contains(i) }) { v = v + l2 * ws[i] }
            summed[i] = v
        }
        let summedGrads = Tensor(shape: [n], scalars: summed)
        let lanes = L2Lanes(count: n, ranges: ranges)
        typealias Update = (_ values: Tensor, _ grads: Tensor, _ state: [Tensor], _ shards: ShardGradients?) -> Void
        let step = AdamStep(lrCorrected: 0.01, vCorrection: 1.2, beta1: 0.9, beta2: 0.999, epsilon: 1e-8)
        let updates: [(String, Int, Update)] = [
            ("adam", 2, { Kernels.adamUpdate(values: $0, grads: $1, m: $2[0], v: $2[1], step, shards: $3) }),
            ("adagrad", 1, { Kernels.adagradUpdate(values: $0, grads: $1, accumulator: $2[0], learningRate: 0.1, shards: $3) }),
            ("adagradDecay", 1, { Kernels.adagradDecayUpdate(values: $0, grads: $1, accumulator: $2[0], learningRate: 0.1,
                                                             decay: AccumulatorDecay(rate: 0.9, floor: 0.05), shards: $3) }),
            ("gradientDescent", 0, { Kernels.gradientDescentUpdate(values: $0, grads: $1, learningRate: 0.1, shards: $3) }),
        ]
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        for threads in [1, 2] {
            Parallel.threads = threads
            for (name, stateCount, update) in updates {
                func run(fused: Bool) -> [[Float]] {
                    let values = w.contiguousCopy(), states = (0..<stateCount).map { _ in state.contiguousCopy() }
                    let grads = fused ? g.contiguousCopy() : summedGrads.contiguousCopy()
                    update(values, grads, states, fused ? ShardGradients(parts: [p1, p2], l2: l2, values: values, lanes: lanes) : nil)
                    // The fused pass reads the model's gradient and leaves it as it was.
                    if fused { XCTAssertTrue(grads.scalars == gs, "\(name): the fused pass wrote the gradient") }
                    return [values.scalars] + states.map(\.scalars)
                }
                let fused = run(fused: true), separate = run(fused: false)
                for (k, (x, y)) in zip(fused, separate).enumerated() {
                    let differ = zip(x, y).filter { $0.bitPattern != $1.bitPattern }.count
                    XCTAssertEqual(differ, 0, "\(name), \(threads) threads: \(differ) elements of buffer \(k) differ")
                }
                XCTAssertNotEqual(fused[0], ws, "\(name): nothing was updated")
            }
        }
    }

    /// The lazy (touched-row) updates of every optimizer over 3,000 touched rows of 8 (three
    /// blocks of 1,024 rows, spread over the threads): the same bits on 1 and 2 threads as each
    /// row's own update in turn, and rows without a gradient left as they were.
    func testTouchedRowUpdatesAreEachRowsOwnOnAnyThreadCount() {
        let v = 5_000, d = 8
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        var rng = SeededRNG(seed: 7)
        var order = Array(0..<v)
        for i in stride(from: v - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        let rows = order.prefix(3_000).map { Int32($0) }
        let grads = r([rows.count * d], 50).scalars
        let value0 = r([v, d], 51).scalars, acc0 = r([v, d], 52, lo: 0.1, hi: 1).scalars
        let power0 = (0..<v).map { Float($0 % 3) }
        let step = AdamStep(lrCorrected: 0.01, vCorrection: 1.5, beta1: 0.9, beta2: 0.999, epsilon: 1e-8)
        let decay = AccumulatorDecay(rate: 0.9, floor: 0.2)
        // Each kernel, run on `threads`, returns its tensors' values after one update.
        let kernels: [(String, (EmbeddingTable, Tensor, Tensor, Tensor) -> Void)] = [
            ("adagrad", { t, a, _, _ in Kernels.adagradUpdateTouchedRows(t, accumulator: a, learningRate: 0.1) }),
            ("adam", { t, a, m, _ in Kernels.adamUpdateTouchedRows(t, m: a, v: m, step) }),
            ("gradient descent", { t, _, _, _ in Kernels.gradientDescentUpdateTouchedRows(t, learningRate: 0.1) }),
            ("adagrad decay", { t, a, _, p in
                Kernels.adagradDecayUpdateTouchedRows(t, accumulator: a, decayPower: p, periods: 2, learningRate: 0.1, decay: decay) }),
        ]
        for (name, kernel) in kernels {
            var results: [[Float]] = []
            for threads in [1, 2] {
                Parallel.threads = threads
                let table = EmbeddingTable(name: "t", value: Tensor(shape: [v, d], scalars: value0))
                table.addGradient(rows: rows, values: grads[...])
                let a = Tensor(shape: [v, d], scalars: acc0), m = Tensor(shape: [v, d], scalars: acc0)
                let p = Tensor(shape: [v], scalars: power0)
                kernel(table, a, m, p)
                results.append(table.value.scalars + a.scalars + m.scalars + p.scalars)
            }
            XCTAssertEqual(results[0].map(\.bitPattern), results[1].map(\.bitPattern), "\(name): 1 and 2 threads differ")
            // Row by row, as the kernels did before the split.
            var value = value0, acc = acc0, m = acc0, power = power0
            value.withUnsafeMutableBufferPointer { pv in acc.withUnsafeMutableBufferPointer { pa in m.withUnsafeMutableBufferPointer { pm in
                grads.withUnsafeBufferPointer { g in
                    for (slot, row) in rows.enumerated() {
                        let r = Int(row) * d, gr = GradientBuffer(g: g.baseAddress! + slot * d)
                        let (p, a, mm) = (pv.baseAddress! + r, pa.baseAddress! + r, pm.baseAddress! + r)
                        switch name {
                        case "adagrad": Kernels.adagradRow(p, gr, a, d, 0.1)
                        case "adam": Kernels.adamRow(p, gr, a, mm, d, step)
                        case "gradient descent": Kernels.gradientDescentRow(p, gr, d, 0.1)
                        default:
                            if Int(power[Int(row)]) < 2 {
                                power[Int(row)] += 1
                                Kernels.adagradDecayRow(p, gr, a, d, 0.1, decay)
                            } else {
                                Kernels.adagradRow(p, gr, a, d, 0.1)
                            }
                        }
                    }
                }
            } } }
            XCTAssertEqual(results[0].map(\.bitPattern), (value + acc + m + power).map(\.bitPattern), "\(name): not each row's own update")
        }
    }
}

private extension Tensor {
    /// A fresh contiguous tensor with this one's values.
    func contiguousCopy() -> Tensor { Tensor(shape: shape, scalars: scalars) }
}
