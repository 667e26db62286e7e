import XCTest
import Tensor
import TestSupport

/// Embedding bags with a combiner per field (a sum-combined tag list beside mean-combined fields
/// in one fused lookup): values and gradients against one single-combiner bag per field, and
/// gradients against central differences; empty bags stay zero vectors under either combiner.
final class EmbeddingBagCombinerTests: XCTestCase {
    // 3 rows of 3 fields (bags row-major: row 0's fields, then row 1's ...) over 9 rows of width 5:
    // field 0 one id per row, field 1 tag lists of 2, 0 and 3 ids (one repeated), field 2 lists
    // of 0, 2 and 1 ids.
    let ids: [Int32] = [0, 4, 6, 2, 5, 3, 3, 8, 1, 8, 7]
    let offsets: [Int32] = [0, 1, 3, 3, 4, 4, 6, 7, 10, 11]
    let combiners: [EmbeddingCombiner] = [.mean, .sum, .mean]
    let rows = 3, fields = 3, d = 5

    /// One field's bags cut out of the fused layout: its ids and offsets.
    func field(_ f: Int) -> (ids: [Int32], offsets: [Int32]) {
        var out: [Int32] = [], fieldOffsets: [Int32] = [0]
        for r in 0..<rows {
            out += ids[Int(offsets[r * fields + f])..<Int(offsets[r * fields + f + 1])]
            fieldOffsets.append(Int32(out.count))
        }
        return (out, fieldOffsets)
    }

    /// The fused bag equals, bit for bit, each field's own bag with its own combiner, forward and
    /// backward (the sparse gradient of every row).
    func testFusedBagsMatchOneBagPerField() {
        let values = TestSupport.random([9, d], seed: 11)
        let dout = TestSupport.random([rows * fields, d], seed: 12)
        let fused = EmbeddingTable(name: "t", value: values)
        let tape = Tape()
        let out = tape.embeddingBag(fused, ids: ids, offsets: offsets, combiners: combiners)
        XCTAssertEqual(out.shape, [rows * fields, d])
        tape.backward((out * tape.constant(dout)).sum())

        let separate = EmbeddingTable(name: "t", value: values)
        for f in 0..<fields {
            let (fieldIds, fieldOffsets) = field(f)
            let t = Tape()
            let one = t.embeddingBag(separate, ids: fieldIds, offsets: fieldOffsets, combiner: combiners[f])
            let g = Tensor(shape: [rows, d], scalars: (0..<rows).flatMap { dout.slice(0, ($0 * fields + f)..<($0 * fields + f + 1)).scalars })
            t.backward((one * t.constant(g)).sum())
            for r in 0..<rows {
                XCTAssertEqual(out.value.slice(0, (r * fields + f)..<(r * fields + f + 1)).scalars,
                               one.value.slice(0, r..<(r + 1)).scalars, "row \(r) field \(f)")
            }
        }
        for row in 0..<9 { XCTAssertEqual(fused.gradient(ofRow: row), separate.gradient(ofRow: row), "row \(row)") }
        // The empty bags (row 0 field 2, row 1 field 1) are zero vectors.
        XCTAssertEqual(out.value.slice(0, 2..<3).scalars, [Float](repeating: 0, count: d))
        XCTAssertEqual(out.value.slice(0, 4..<5).scalars, [Float](repeating: 0, count: d))
        // The summed field is the plain sum of its rows; the mean field that sum over its length.
        let v = values.scalars
        for j in 0..<d {
            XCTAssertEqual(out.value[1, j], v[4 * d + j] + v[6 * d + j])
            XCTAssertEqual(out.value[7, j], v[8 * d + j] + v[1 * d + j] + v[8 * d + j])
            XCTAssertEqual(out.value[5, j], (v[5 * d + j] + v[3 * d + j]) * (1 / Float(2)))
        }
    }

    /// Every row's gradient through the mixed-combiner bag against central differences.
    func testMixedCombinerGradientAgainstFiniteDifferences() {
        let base = TestSupport.random([9, d], seed: 13)
        let r = TestSupport.random([rows * fields, d], seed: 14)
        func loss(_ values: Tensor) -> Double {
            let out = Tape(recording: false).embeddingBag(EmbeddingTable(name: "t", value: values), ids: ids, offsets: offsets,
                                                          combiners: combiners).value.scalars
            return zip(out, r.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        let table = EmbeddingTable(name: "t", value: base)
        let tape = Tape()
        tape.backward((tape.embeddingBag(table, ids: ids, offsets: offsets, combiners: combiners) * tape.constant(r)).sum())
        let eps: Float = 1e-2
        for row in 0..<9 {
            let g = table.gradient(ofRow: row)
            for j in 0..<d {
                var p = base.scalars, m = base.scalars
                p[row * d + j] += eps; m[row * d + j] -= eps
                let numeric = (loss(Tensor(shape: [9, d], scalars: p)) - loss(Tensor(shape: [9, d], scalars: m))) / (2 * Double(eps))
                XCTAssertEqual(Double(g[j]), numeric, accuracy: 2e-3, "row \(row) column \(j)")
            }
        }
    }

    /// The product bag (`--multihash`) takes the same per-field combiners: fused equals per field.
    func testProductBagsTakePerFieldCombiners() {
        let values = TestSupport.random([9, d], seed: 15)
        let paired = ids.map { ($0 + 3) % 9 }
        let out = Tape(recording: false).embeddingBagProduct(EmbeddingTable(name: "t", value: values), ids: ids, pairedIds: paired,
                                                             offsets: offsets, combiners: combiners).value
        for f in 0..<fields {
            let (fieldIds, fieldOffsets) = field(f)
            let one = Tape(recording: false).embeddingBagProduct(EmbeddingTable(name: "t", value: values), ids: fieldIds,
                                                                 pairedIds: fieldIds.map { ($0 + 3) % 9 }, offsets: fieldOffsets,
                                                                 combiner: combiners[f]).value
            for r in 0..<rows {
                XCTAssertEqual(out.slice(0, (r * fields + f)..<(r * fields + f + 1)).scalars, one.slice(0, r..<(r + 1)).scalars, "row \(r) field \(f)")
            }
        }
    }
}
