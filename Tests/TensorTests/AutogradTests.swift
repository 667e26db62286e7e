import XCTest
import Tensor
import TestSupport

final class AutogradTests: XCTestCase {
    func testEmbeddingBagGradientAgainstFiniteDifferences() {
        // 7 rows of width 3; bags of 2, 0, 1 and 3 ids (one id repeated) with sum and mean.
        for combiner in [EmbeddingCombiner.sum, .mean] {
            let base = TestSupport.random([7, 3], seed: 5)
            let ids: [Int32] = [1, 4, 6, 2, 2, 5]
            let offsets: [Int32] = [0, 2, 2, 3, 6]
            let r = TestSupport.random([4, 3], seed: 6)
            func loss(_ values: Tensor) -> Double {
                let t = Tape(recording: false)
                let out = t.embeddingBag(EmbeddingTable(name: "t", value: values), ids: ids, offsets: offsets, combiner: combiner).value.scalars
                return zip(out, r.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            }
            let table = EmbeddingTable(name: "t", value: base)
            let tape = Tape()
            let out = tape.embeddingBag(table, ids: ids, offsets: offsets, combiner: combiner)
            XCTAssertEqual(out.shape, [4, 3])
            XCTAssertEqual(out.value.slice(0, 1..<2).scalars, [0, 0, 0], "an empty bag is a zero vector")
            tape.backward((out * tape.constant(r)).sum())
            // Only the rows used have a gradient entry.
            XCTAssertEqual(Set(table.touchedRows), [1, 4, 6, 2, 5])
            let eps: Float = 1e-2
            for row in 0..<7 {
                let g = table.gradient(ofRow: row)
                for j in 0..<3 {
                    var p = base.scalars, m = base.scalars
                    p[row * 3 + j] += eps; m[row * 3 + j] -= eps
                    let numeric = (loss(Tensor(shape: [7, 3], scalars: p)) - loss(Tensor(shape: [7, 3], scalars: m))) / (2 * Double(eps))
                    XCTAssertEqual(Double(g[j]), numeric, accuracy: 2e-3, "\(combiner) row \(row) col \(j)")
                }
            }
            table.zeroGrad()
            XCTAssertTrue(table.touchedRows.isEmpty)
            XCTAssertEqual(table.gradient(ofRow: 4), [0, 0, 0])
        }
    }

    /// Gradient views share the values and keep their own gradients; merging a table's sparse
    /// gradient adds rows both touched and appends the others.
    func testGradientViewsShareValuesAndMergeGradients() {
        let store = ParameterStore([("w", [3, 2]), ("b", [2])])
        let view = ParameterStore(sharingValuesOf: store)
        XCTAssertEqual(view.parameters.map(\.name), ["w", "b"])
        XCTAssertEqual(view["w"]!.shape, [3, 2])
        store["w"]!.value[1, 1] = 5
        XCTAssertEqual(view["w"]!.value[1, 1], 5, "values are shared")
        view.grads.fill(1)
        XCTAssertTrue(store.grads.scalars.allSatisfy { $0 == 0 }, "gradients are not")

        let table = EmbeddingTable(name: "t", value: TestSupport.random([5, 2], seed: 1))
        let other = EmbeddingTable(sharingValueOf: table)
        table.value[4, 0] = 7
        XCTAssertEqual(other.value[4, 0], 7)
        func touch(_ t: EmbeddingTable, _ ids: [Int32], _ g: [Float]) {
            let tape = Tape()
            let out = tape.embeddingBag(t, ids: ids, offsets: (0...ids.count).map(Int32.init))
            tape.backward((out * tape.constant(Tensor(shape: [ids.count, 2], scalars: g))).sum())
        }
        touch(table, [3, 1], [1, 2, 3, 4])
        touch(other, [0, 3], [10, 20, 30, 40])
        XCTAssertTrue(table.gradient(ofRow: 0) == [0, 0])
        table.addGradient(of: other)
        XCTAssertEqual(table.touchedRows, [3, 1, 0])
        XCTAssertEqual(table.gradient(ofRow: 3), [31, 42])
        XCTAssertEqual(table.gradient(ofRow: 1), [3, 4])
        XCTAssertEqual(table.gradient(ofRow: 0), [10, 20])
        XCTAssertEqual(other.gradient(ofRow: 3), [30, 40], "the source keeps its gradient")
    }

    /// A gradient given as rows and values (what another process sends) adds as a table's does.
    func testAddingGradientRowsMatchesAddingATable() {
        let table = EmbeddingTable(name: "t", value: TestSupport.random([5, 2], seed: 2))
        let other = EmbeddingTable(sharingValueOf: table), received = EmbeddingTable(sharingValueOf: table)
        for t in [table, received] {
            let tape = Tape()
            let out = tape.embeddingBag(t, ids: [3, 1], offsets: [0, 1, 2])
            tape.backward((out * tape.constant(Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]))).sum())
        }
        let tape = Tape()
        let out = tape.embeddingBag(other, ids: [0, 3], offsets: [0, 1, 2])
        tape.backward((out * tape.constant(Tensor(shape: [2, 2], scalars: [0.1, 0.2, 0.3, 0.4]))).sum())
        table.addGradient(of: other)
        received.addGradient(rows: other.touchedRows, values: other.gradValues[...])
        XCTAssertEqual(received.touchedRows, table.touchedRows)
        XCTAssertEqual(received.gradValues.map(\.bitPattern), table.gradValues.map(\.bitPattern))
        XCTAssertEqual(received.gradient(ofRow: 3), [Float(1) + Float(0.3), Float(2) + Float(0.4)])
        XCTAssertEqual(received.gradient(ofRow: 0), [0.1, 0.2])
    }

    func testParameterGradientsAccumulateAcrossBackwardCalls() {
        let store = ParameterStore([("w", [3, 2]), ("b", [2])])
        store["w"]!.value.assign(TestSupport.random([3, 2], seed: 1))
        let x = TestSupport.random([4, 3], seed: 2)
        func step() {
            let tape = Tape()
            let y = tape.constant(x).linear(tape.parameter(store["w"]!), tape.parameter(store["b"]!), activation: .none)
            tape.backward(y.sum())
        }
        step()
        let once = store.grads.scalars
        // d(sum(xW + b))/db = batch size.
        XCTAssertEqual(store["b"]!.grad.scalars, [4, 4])
        step()
        let twice = store.grads.scalars
        for (a, b) in zip(once, twice) { XCTAssertEqual(2 * a, b, accuracy: 1e-5) }
        store.zeroGrad()
        XCTAssertTrue(store.grads.scalars.allSatisfy { $0 == 0 })
    }

    /// `discardGradients()` leaves the old values in place; the next backward pass must overwrite
    /// them (a GEMM with beta 0, a copy for a bias), never add to them: with NaN left in the
    /// buffer, the gradients must be exactly those of a zeroed buffer. A parameter the pass does
    /// not reach is zeroed at its end (a tape leaf) or by `materializeGradients()` (not on the tape).
    func testDiscardedGradientsAreOverwrittenNotAddedTo() {
        let store = ParameterStore([("w1", [8, 16]), ("b1", [16]), ("w2", [3, 16, 4]), ("b2", [3, 4]),
                                    ("wg", [4, 3]), ("unused", [5]), ("off_tape", [7])])
        for p in store.parameters { p.value.assign(TestSupport.random(p.shape, seed: 11)) }
        let x = TestSupport.random([32, 8], seed: 12)
        func step() {
            let tape = Tape()
            // A 2-D layer, a batched [E, D, H] one, and a shared 2-D weight under a 3-D input.
            let h = tape.constant(x).linear(tape.parameter(store["w1"]!), tape.parameter(store["b1"]!), activation: .relu)
            let e = h.linear(tape.parameter(store["w2"]!), tape.parameter(store["b2"]!), activation: .relu)
            let g = e.matmul(tape.parameter(store["wg"]!))
            _ = tape.parameter(store["unused"]!)
            tape.backward(g.sum() + h.sum())
        }
        store.zeroGrad()
        step()
        let reference = store.grads.scalars
        XCTAssertTrue(reference.contains { $0 != 0 })
        store.grads.assign(Tensor(shape: [store.count], repeating: .nan))
        store.discardGradients()
        XCTAssertTrue(store.parameters.allSatisfy(\.gradIsStale))
        step()
        XCTAssertTrue(store.parameters.filter(\.gradIsStale).map(\.name) == ["off_tape"])
        store.materializeGradients()
        XCTAssertFalse(store.parameters.contains(where: \.gradIsStale))
        XCTAssertEqual(store.grads.scalars.map(\.bitPattern), reference.map(\.bitPattern))
        // Without a discard, the next pass adds again.
        step()
        for (a, b) in zip(reference, store.grads.scalars) { XCTAssertEqual(a + a, b, accuracy: 1e-5 * max(1, abs(b))) }
    }

    /// A shared weight under an empty batch of products (E = 0) gets no product to overwrite it:
    /// a discarded gradient must come out as zeros, not as the NaN left in the buffer.
    func testDiscardedGradientOfAnEmptyBatchedProductIsZero() {
        let store = ParameterStore([("w", [4, 3])])
        store["w"]!.value.assign(TestSupport.random([4, 3], seed: 13))
        store.grads.assign(Tensor(shape: [store.count], repeating: .nan))
        store.discardGradients()
        let tape = Tape()
        let y = tape.constant(Tensor(shape: [0, 5, 4])).matmul(tape.parameter(store["w"]!))
        XCTAssertEqual(y.shape, [0, 5, 3])
        tape.backward(y.sum())
        XCTAssertFalse(store["w"]!.gradIsStale)
        XCTAssertEqual(store.grads.scalars, [Float](repeating: 0, count: 12))
    }

    func testNoGradModeRecordsNothing() {
        let p = Parameter(name: "w", value: TestSupport.random([3, 3], seed: 3))
        let tape = Tape(recording: false)
        let y = tape.constant(TestSupport.random([2, 3], seed: 4)).matmul(tape.parameter(p)).relu().sum()
        XCTAssertEqual(tape.recordedOpCount, 0)
        XCTAssertFalse(y.requiresGrad)
    }

    func testConstantsGetNoGradientAndRecordNothing() {
        let tape = Tape()
        let a = tape.constant(TestSupport.random([2, 2], seed: 1))
        _ = (a * a).sigmoid()
        XCTAssertEqual(tape.recordedOpCount, 0)
    }

    func testExtremeLogitsStayFinite() {
        let big = Tensor(shape: [2, 4], scalars: [100, -100, 0, 1000, -1000, 1000, 3, -3])
        let tape = Tape()
        let x = tape.variable(big)
        let sm = x.softmax(axis: -1)
        let lsm = x.logSoftmax(axis: -1)
        XCTAssertTrue(sm.value.scalars.allSatisfy(\.isFinite))
        XCTAssertTrue(lsm.value.scalars.allSatisfy(\.isFinite))
        XCTAssertEqual(sm.value.sum(axesScalars: 1), [1, 1])
        let targets = Tensor(shape: [2, 4], scalars: [0, 1, 1, 0, 1, 0, 1, 0])
        let bce = x.bceWithLogits(targets)
        // Elementwise: 100 (x=100,y=0), 100 (x=-100,y=1), log 2, 1000, 1000, 1000, then log(1+e^-3) twice.
        let expected = (100.0 + 100 + log(2.0) + 1000 + 1000 + 1000 + log1p(exp(-3.0)) + log1p(exp(-3.0))) / 8
        XCTAssertEqual(Double(bce.value.item), expected, accuracy: 1e-3)
        tape.backward(bce + sm.sum() + lsm.sum())
        XCTAssertTrue(tape.gradient(of: x)!.scalars.allSatisfy(\.isFinite))
        let s = Tape().variable(Tensor(shape: [4], scalars: [-100, 100, -1000, 1000])).sigmoid().value.scalars
        XCTAssertEqual(s, [Float(exp(-100.0)), 1, 0, 1])
    }

    func testTapeReleasesEverythingAfterEachStep() {
        let store = ParameterStore([("w1", [8, 16]), ("b1", [16]), ("w2", [16, 1])])
        for p in store.parameters { p.value.assign(TestSupport.random(p.shape, seed: 9)) }
        let x = TestSupport.random([32, 8], seed: 10)
        let y = Tensor(shape: [32, 1], repeating: 1)
        func step() {
            let tape = Tape()
            let h = tape.constant(x).linear(tape.parameter(store["w1"]!), tape.parameter(store["b1"]!), activation: .relu)
            let loss = h.matmul(tape.parameter(store["w2"]!)).bceWithLogits(y)
            tape.backward(loss)
        }
        step()
        let baseline = TensorStorage.liveCount
        for _ in 0..<2000 { step() }
        XCTAssertEqual(TensorStorage.liveCount, baseline, "tensors outlived their step")
    }
}

extension Tensor {
    /// Row sums of a 2-D tensor, for assertions.
    func sum(axesScalars axis: Int) -> [Float] { Kernels.sum(self, axes: [axis]).scalars.map { ($0 * 1e5).rounded() / 1e5 } }
}
