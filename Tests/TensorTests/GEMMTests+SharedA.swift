import XCTest
@testable import Tensor

/// A batched GEMM whose A is shared (stride 0, the experts' common input) packs op(A) once per
/// thread and reads that pack for the following problems: every problem must still get the bits
/// of its own unbatched GEMM, across the blocking boundaries (several k-blocks, several mc- and
/// nc-blocks, partial panels), with every epilogue and on one or two threads.
final class GEMMSharedATests: XCTestCase {
    struct Case {
        var transA: Bool, transB: Bool, m: Int, n: Int, k: Int
        var batch = 3, bias = false, relu = false, beta: Float = 0
    }

    func testBatchesSharingAGiveEachProblemsOwnBits() {
        let cases: [Case] = [
            Case(transA: false, transB: false, m: 128, n: 256, k: 127, bias: true, relu: true),    // forward, first layer
            Case(transA: true, transB: false, m: 127, n: 256, k: 128, beta: 1),                   // its weight gradient
            Case(transA: false, transB: true, m: 45, n: 70, k: 19, batch: 4, bias: true),
            Case(transA: true, transB: true, m: 29, n: 33, k: 33, relu: true),
            Case(transA: false, transB: false, m: 2 * gemmMC + 9, n: 40, k: 700, beta: 0.5),       // 3 mc- and 3 k-blocks
            Case(transA: false, transB: false, m: 5, n: gemmNC + 40, k: 9, batch: 2, bias: true),  // two nc-blocks
            Case(transA: false, transB: false, m: 2100, n: 64, k: 600, batch: 2),                  // too big to keep: packed per problem
        ]
        var rng = SeededRNG(seed: 44)
        for c in cases {
            XCTAssertEqual(c.m > 2000, GEMMProblem.packedAFloats(m: c.m, k: c.k) > gemmSharedAMaxFloats)
            let lda = c.transA ? c.m : c.k, ldb = c.transB ? c.k : c.n
            let a = (0..<(c.m * c.k)).map { _ in rng.nextUniform() * 2 - 1 }
            let b = (0..<(c.batch * c.k * c.n)).map { _ in rng.nextUniform() * 2 - 1 }
            let bias = (0..<(c.batch * c.n)).map { _ in rng.nextUniform() - 0.5 }
            let c0 = (0..<(c.batch * c.m * c.n)).map { _ in rng.nextUniform() }
            // Each problem alone (its A packed block by block, as before).
            var expected = c0
            for e in 0..<c.batch {
                expected.withUnsafeMutableBufferPointer { out in
                    sgemm(transA: c.transA, transB: c.transB, m: c.m, n: c.n, k: c.k, alpha: 1, a: a, lda: lda,
                          b: Array(b[(e * c.k * c.n)...]), ldb: ldb, beta: c.beta, c: out.baseAddress! + e * c.m * c.n, ldc: c.n,
                          bias: c.bias ? Array(bias[(e * c.n)...]) : nil, relu: c.relu, threads: 1)
                }
            }
            for threads in [1, 2] {
                var got = c0
                got.withUnsafeMutableBufferPointer { out in
                    sgemmBatched(batch: c.batch, transA: c.transA, transB: c.transB, m: c.m, n: c.n, k: c.k, alpha: 1,
                                 a: a, lda: lda, strideA: 0, b: b, ldb: ldb, strideB: c.k * c.n,
                                 beta: c.beta, c: out.baseAddress!, ldc: c.n, strideC: c.m * c.n,
                                 bias: c.bias ? bias : nil, strideBias: c.n, relu: c.relu, threads: threads)
                }
                XCTAssertEqual(got.map(\.bitPattern), expected.map(\.bitPattern), "\(c), threads \(threads)")
            }
            // And the unbatched products against the naive loop, so the bits compared are right.
            var naive = c0
            for e in 0..<c.batch {
                naive.withUnsafeMutableBufferPointer { out in
                    sgemmNaive(transA: c.transA, transB: c.transB, m: c.m, n: c.n, k: c.k, alpha: 1, a: a, lda: lda,
                               b: Array(b[(e * c.k * c.n)...]), ldb: ldb, beta: c.beta, c: out.baseAddress! + e * c.m * c.n, ldc: c.n,
                               bias: c.bias ? Array(bias[(e * c.n)...]) : nil, relu: c.relu)
                }
            }
            for (x, y) in zip(expected, naive) where abs(x - y) > 1e-3 * Float(c.k) {
                XCTFail("\(c): \(x) against the naive \(y)")
                break
            }
        }
    }

    /// The memo offsets: k-blocks one after the other, each holding every row panel.
    func testPackedAOffsets() {
        let m = 30, k = 700, kc = gemmKC(k), mPadded = (m + gemmMR - 1) / gemmMR * gemmMR
        XCTAssertEqual(GEMMProblem.packedAFloats(m: m, k: k), mPadded * kc * 3)
        XCTAssertEqual(GEMMProblem.packedAOffset(m: m, k: k, pc: 0, ic: 0, kc: kc), 0)
        XCTAssertEqual(GEMMProblem.packedAOffset(m: m, k: k, pc: 2 * kc, ic: gemmMR, kc: k - 2 * kc), 2 * mPadded * kc + gemmMR * (k - 2 * kc))
    }
}
