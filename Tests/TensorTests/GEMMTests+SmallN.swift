import XCTest
@testable import Tensor

/// The small-n path (n <= 8) with A not transposed computes every element in one documented
/// order: 16 lanes, lane l a fused multiply-add chain over the steps p = l, l + 16, ... below the
/// last multiple of 16; the lanes summed in a fixed tree (lane i + lane i+8, then + 4, + 2, + 1);
/// then the remaining k steps chained on in order. The kernels reduce sixteen sums at once and
/// chain the tail four columns at a time; this checks they still give exactly those bits (so a
/// seed's printed numbers do not move), for every n, row tails and k tails.
final class GEMMSmallNOrderTests: XCTestCase {
    /// The documented order for one element, then the epilogue in `storeRow`'s order.
    func reference(_ a: (Int) -> Float, _ b: (Int) -> Float, k: Int, alpha: Float, beta: Float, c: Float,
                   bias: Float?, relu: Bool) -> Float {
        let k16 = k & ~15
        var lanes = [Float](repeating: 0, count: 16)
        for p in 0..<k16 { lanes[p % 16] = lanes[p % 16].addingProduct(a(p), b(p)) }
        var width = 8
        while width >= 1 {
            for i in 0..<width { lanes[i] = lanes[i] + lanes[i + width] }
            width /= 2
        }
        var s = lanes[0]
        for p in k16..<k { s = s.addingProduct(a(p), b(p)) }
        var v = s * alpha
        if beta != 0 { v = v + beta * c }
        if let bias { v = v + bias }
        if relu && v < 0 { v = 0 }
        return v
    }

    func testSmallNMatchesTheDocumentedOrderBitForBit() {
        var rng = SeededRNG(seed: 11)
        var failures = 0
        for transB in [false, true] {
            for n in 1...8 {
                for (m, k) in [(1, 1), (3, 15), (4, 16), (5, 17), (9, 127), (67, 128), (6, 200)] {
                    let alpha: Float = n % 2 == 0 ? 1 : -0.5, beta: Float = [0, 1, 0.3][(m + n) % 3]
                    let bias = n % 3 == 0, relu = m % 2 == 1
                    let lda = k + 1, ldb = (transB ? k : n) + 2, ldc = n + 1
                    let a = (0..<(m * lda)).map { _ in rng.nextUniform() * 2 - 1 }
                    let b = (0..<((transB ? n : k) * ldb)).map { _ in rng.nextUniform() * 2 - 1 }
                    let biasValues = (0..<n).map { _ in rng.nextUniform() - 0.5 }
                    let c0 = (0..<(m * ldc)).map { _ in beta == 0 ? Float.nan : rng.nextUniform() }
                    var c = c0
                    biasValues.withUnsafeBufferPointer { bv in
                        sgemm(transA: false, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                              beta: beta, c: &c, ldc: ldc, bias: bias ? bv.baseAddress! : nil, relu: relu, threads: 1)
                    }
                    for i in 0..<m {
                        for j in 0..<n {
                            let want = reference({ a[i * lda + $0] }, { transB ? b[j * ldb + $0] : b[$0 * ldb + j] }, k: k,
                                                 alpha: alpha, beta: beta, c: c0[i * ldc + j],
                                                 bias: bias ? biasValues[j] : nil, relu: relu)
                            if c[i * ldc + j].bitPattern != want.bitPattern {
                                failures += 1
                                if failures <= 5 {
                                    XCTFail("transB \(transB) m \(m) n \(n) k \(k): C[\(i),\(j)] = \(c[i * ldc + j]), want \(want)")
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// With A transposed (a weight gradient, `Xᵀ · dZ`) the path runs along m: every element is one
    /// fused multiply-add chain over k in order, from zero, then the epilogue, whichever kernel
    /// computes its row (64- and 16-row tiles, the padded panel of the last rows) and column group.
    func testSmallNTransposedAIsOneFMAChainPerElement() {
        var rng = SeededRNG(seed: 12)
        var failures = 0
        for n in 1...8 {
            for (m, k) in [(1, 3), (15, 128), (16, 7), (17, 33), (64, 20), (79, 128), (127, 128), (130, 5)] {
                let alpha: Float = n % 2 == 0 ? 1 : -0.5, beta: Float = [0, 1, 0.3][(m + n) % 3]
                let bias = n % 3 == 0, relu = m % 2 == 1
                let lda = m + 3, ldb = n + 2, ldc = n + 1
                let a = (0..<(k * lda)).map { _ in rng.nextUniform() * 2 - 1 }
                let b = (0..<(k * ldb)).map { _ in rng.nextUniform() * 2 - 1 }
                let biasValues = (0..<n).map { _ in rng.nextUniform() - 0.5 }
                let c0 = (0..<(m * ldc)).map { _ in beta == 0 ? Float.nan : rng.nextUniform() }
                var c = c0
                biasValues.withUnsafeBufferPointer { bv in
                    sgemm(transA: true, transB: false, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                          beta: beta, c: &c, ldc: ldc, bias: bias ? bv.baseAddress! : nil, relu: relu, threads: 1)
                }
                for i in 0..<m {
                    for j in 0..<n {
                        var s: Float = 0
                        for p in 0..<k { s = s.addingProduct(a[p * lda + i], b[p * ldb + j]) }
                        var want = s * alpha
                        if beta != 0 { want = want + beta * c0[i * ldc + j] }
                        if bias { want = want + biasValues[j] }
                        if relu && want < 0 { want = 0 }
                        if c[i * ldc + j].bitPattern != want.bitPattern {
                            failures += 1
                            if failures <= 5 { XCTFail("m \(m) n \(n) k \(k): C[\(i),\(j)] = \(c[i * ldc + j]), want \(want)") }
                        }
                    }
                }
            }
        }
    }
}
