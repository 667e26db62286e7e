import XCTest
@testable import Tensor

/// The bottom-edge kernel (tiles of at most `gemmEdgeMR` rows) must compute a row exactly as the
/// 14-row kernel does: the same row of A gives the same bits whether it falls in a full panel or
/// in a short last one, in every layout, with every epilogue and across several k-blocks.
final class GEMMEdgeKernelTests: XCTestCase {
    func testShortLastPanelGivesTheFullPanelsBits() {
        let m = 2 * gemmMR, n = 45   // two full panels; n also has a right-edge tile
        var rng = SeededRNG(seed: 21)
        for (transA, transB) in [(false, false), (false, true), (true, false), (true, true)] {
            for (k, beta, bias, relu) in [(17, Float(0), false, false), (64, 0.3, true, true), (700, 1, true, false)] {
                let lda = transA ? m : k, ldb = transB ? k : n
                let a = (0..<(m * k)).map { _ in rng.nextUniform() * 2 - 1 }
                let b = (0..<(k * n)).map { _ in rng.nextUniform() * 2 - 1 }
                let biasValues = (0..<n).map { _ in rng.nextUniform() - 0.5 }
                let c0 = (0..<(m * n)).map { _ in rng.nextUniform() }
                func product(rows r0: Int, _ count: Int) -> [UInt32] {
                    // Rows r0..<r0+count of op(A) as a problem of their own.
                    var c = Array(c0[(r0 * n)..<((r0 + count) * n)])
                    a.withUnsafeBufferPointer { ap in biasValues.withUnsafeBufferPointer { bp in
                        sgemm(transA: transA, transB: transB, m: count, n: n, k: k, alpha: -0.5,
                              a: ap.baseAddress! + (transA ? r0 : r0 * lda), lda: lda, b: b, ldb: ldb, beta: beta,
                              c: &c, ldc: n, bias: bias ? bp.baseAddress! : nil, relu: relu, threads: 1)
                    } }
                    return c.map(\.bitPattern)
                }
                let full = product(rows: 0, m)
                for count in 1...gemmEdgeMR {
                    for r0 in [0, 5, gemmMR - count, m - count] {
                        XCTAssertEqual(product(rows: r0, count), Array(full[(r0 * n)..<((r0 + count) * n)]),
                                       "transA \(transA) transB \(transB) k \(k): rows \(r0)..<\(r0 + count)")
                    }
                }
            }
        }
    }
}
