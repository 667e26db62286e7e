import XCTest
import Tensor
import Datasets
@testable import MMoE

/// `TabularData.gathering`: rows in the order given (repeats and an empty list too), dense values,
/// labels, ids, raw keys and the rebased offsets of multi-valued fields, against a plain row-by-row
/// construction.
final class TabularDataGatherTests: XCTestCase {
    /// Rows of 3 fields whose bags hold 0-3 ids, with keys; dense width `dense`.
    func data(bags: Bool, dense: Int, rows: Int = 9) -> TabularData {
        var rng = SeededRNG(seed: 7)
        var d: [Float] = [], ids: [Int32] = [], keys: [UInt64] = [], labels: [Float] = [], offsets: [Int32] = [0]
        for _ in 0..<rows {
            for _ in 0..<dense { d.append(rng.nextUniform()) }
            for _ in 0..<3 {
                for _ in 0..<(bags ? Int(rng.next() % 4) : 1) {
                    ids.append(Int32(rng.next() % 100)); keys.append(rng.next())
                }
                offsets.append(Int32(ids.count))
            }
            labels += [rng.nextUniform() < 0.5 ? 1 : 0, rng.nextUniform()]
        }
        return TabularData(count: rows, denseWidth: dense, dense: d, fieldCount: 3, ids: ids, taskNames: ["a", "b"], labels: labels,
                           bagOffsets: bags ? offsets : nil, keys: keys)
    }

    /// The rows one by one, each field's run looked up through the source's offsets.
    func reference(_ x: TabularData, _ rows: [Int]) -> (dense: [Float], ids: [Int32], keys: [UInt64], labels: [Float], offsets: [Int32]) {
        var out: (dense: [Float], ids: [Int32], keys: [UInt64], labels: [Float], offsets: [Int32]) = ([], [], [], [], [0])
        for r in rows {
            out.dense += x.dense[(r * x.denseWidth)..<((r + 1) * x.denseWidth)]
            out.labels += x.labels[(r * 2)..<(r * 2 + 2)]
            for f in 0..<3 {
                let lo = x.bagOffsets.map { Int($0[r * 3 + f]) } ?? r * 3 + f
                let hi = x.bagOffsets.map { Int($0[r * 3 + f + 1]) } ?? r * 3 + f + 1
                out.ids += x.ids[lo..<hi]
                out.keys += x.keys![lo..<hi]
                out.offsets.append(Int32(out.ids.count))
            }
        }
        return out
    }

    func testGatheringMatchesRowByRow() {
        for bags in [false, true] {
            for dense in [0, 1, 11] {
                let x = data(bags: bags, dense: dense)
                for rows in [[], [4], [8, 0, 3, 3, 7], Array(0..<9), Array((0..<9).reversed())] {
                    let g = x.gathering(rows), want = reference(x, rows)
                    let label = "bags \(bags), dense \(dense), rows \(rows)"
                    XCTAssertEqual(g.count, rows.count, label)
                    XCTAssertEqual(g.dense, want.dense, label)
                    XCTAssertEqual(g.labels, want.labels, label)
                    XCTAssertEqual(g.ids, want.ids, label)
                    XCTAssertEqual(g.keys, want.keys, label)
                    XCTAssertEqual(g.bagOffsets, bags ? want.offsets : nil, label)
                    // A range and an array slice gather the same rows as an array.
                    XCTAssertEqual(x.gathering(2..<6).ids, x.gathering([2, 3, 4, 5]).ids, label)
                    XCTAssertEqual(x.gathering(rows[...]).bagOffsets, g.bagOffsets, label)
                }
            }
        }
    }
}
