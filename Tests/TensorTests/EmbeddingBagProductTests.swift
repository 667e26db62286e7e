import XCTest
import Tensor
import TestSupport

/// The quotient-remainder product bag: values against a direct computation, gradients (to both
/// rows of every id, through sum and mean) against central differences.
final class EmbeddingBagProductTests: XCTestCase {
    // 8 rows of width 3; bags of 2, 0, 1 and 3 ids; one id pairs a row with itself, one row is
    // the first factor of one id and the second of another.
    let ids: [Int32] = [1, 4, 6, 2, 2, 5]
    let paired: [Int32] = [7, 3, 6, 0, 1, 1]
    let offsets: [Int32] = [0, 2, 2, 3, 6]

    func testValuesAreMeansOfRowProducts() {
        let base = TestSupport.random([8, 3], seed: 5)
        let v = base.scalars
        let out = Tape(recording: false).embeddingBagProduct(EmbeddingTable(name: "t", value: base), ids: ids, pairedIds: paired,
                                                             offsets: offsets, combiner: .mean).value
        XCTAssertEqual(out.shape, [4, 3])
        for bag in 0..<4 {
            let lo = Int(offsets[bag]), hi = Int(offsets[bag + 1])
            for j in 0..<3 {
                var sum: Float = 0
                for k in lo..<hi { sum += v[Int(ids[k]) * 3 + j] * v[Int(paired[k]) * 3 + j] }
                let expected = hi - lo > 1 ? sum / Float(hi - lo) : sum
                XCTAssertEqual(out[bag, j], expected, accuracy: 1e-6, "bag \(bag) column \(j)")
            }
        }
    }

    func testGradientAgainstFiniteDifferences() {
        for combiner in [EmbeddingCombiner.sum, .mean] {
            let base = TestSupport.random([8, 3], seed: 5)
            let r = TestSupport.random([4, 3], seed: 6)
            func loss(_ values: Tensor) -> Double {
                let out = Tape(recording: false).embeddingBagProduct(EmbeddingTable(name: "t", value: values), ids: ids, pairedIds: paired,
                                                                     offsets: offsets, combiner: combiner).value.scalars
                return zip(out, r.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            }
            let table = EmbeddingTable(name: "t", value: base)
            let tape = Tape()
            let out = tape.embeddingBagProduct(table, ids: ids, pairedIds: paired, offsets: offsets, combiner: combiner)
            tape.backward((out * tape.constant(r)).sum())
            XCTAssertEqual(Set(table.touchedRows), [1, 7, 4, 3, 6, 2, 0, 5], "both rows of every id get a gradient")
            let eps: Float = 1e-2
            for row in 0..<8 {
                let g = table.gradient(ofRow: row)
                for j in 0..<3 {
                    var p = base.scalars, m = base.scalars
                    p[row * 3 + j] += eps; m[row * 3 + j] -= eps
                    let numeric = (loss(Tensor(shape: [8, 3], scalars: p)) - loss(Tensor(shape: [8, 3], scalars: m))) / (2 * Double(eps))
                    XCTAssertEqual(Double(g[j]), numeric, accuracy: 2e-3, "\(combiner) row \(row) column \(j)")
                }
            }
        }
    }
}
