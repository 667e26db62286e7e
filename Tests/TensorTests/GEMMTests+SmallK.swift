import XCTest
@testable import Tensor

/// The small-k path (k <= 8, n > 8: the gates' input gradient, a logit's) gives the blocked
/// kernel's bits for every element: one fused multiply-add chain over k from zero, then the
/// epilogue. So routing these shapes to it moves no printed number.
final class GEMMSmallKTests: XCTestCase {
    /// `sgemm` (which now takes the small-k path) against `gemmBlocked` run on the same problem,
    /// bit for bit, over every k up to 8, vector and scalar column tails, all transposes,
    /// alpha/beta/bias/ReLU, bfloat16 rounding, padded leading dimensions and more rows than
    /// one copied block of op(A).
    func testSmallKGivesTheBlockedKernelsBits() {
        var rng = SeededRNG(seed: 23)
        var failures = 0, cases = 0
        for k in 1...gemmSmallK {
            for (m, n) in [(1, 9), (5, 16), (7, 17), (128, 127), (3, 475), (33, 64), (300, 20)] {  // 300: two row blocks
                for (transA, transB) in [(false, false), (false, true), (true, false), (true, true)] {
                    let variant = cases
                    cases += 1
                    let alpha: Float = variant % 3 == 0 ? -0.5 : 1, beta: Float = [0, 1, 0.3][variant % 3]
                    let bias = variant % 2 == 0, relu = variant % 4 < 2, bf16 = variant % 5 == 0
                    let (aRows, aCols) = transA ? (k, m) : (m, k), (bRows, bCols) = transB ? (n, k) : (k, n)
                    let lda = aCols + 1, ldb = bCols + 2, ldc = n + 3
                    let a = (0..<(aRows * lda)).map { _ in rng.nextUniform() * 2 - 1 }
                    let b = (0..<(bRows * ldb)).map { _ in rng.nextUniform() * 2 - 1 }
                    let biasValues = (0..<n).map { _ in rng.nextUniform() - 0.5 }
                    let c0 = (0..<(m * ldc)).map { _ in beta == 0 ? Float.nan : rng.nextUniform() }
                    var viaSolve = c0, viaBlocked = c0
                    a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in biasValues.withUnsafeBufferPointer { bv in
                        viaSolve.withUnsafeMutableBufferPointer { c in
                            sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a.baseAddress!, lda: lda,
                                  b: b.baseAddress!, ldb: ldb, beta: beta, c: c.baseAddress!, ldc: ldc,
                                  bias: bias ? bv.baseAddress! : nil, relu: relu, roundToBFloat16: bf16, threads: 1)
                        }
                        viaBlocked.withUnsafeMutableBufferPointer { c in
                            let p = GEMMProblem(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                                a: a.baseAddress!, lda: lda, b: b.baseAddress!, ldb: ldb, beta: beta,
                                                c: c.baseAddress!, ldc: ldc, bias: bias ? bv.baseAddress! : nil, relu: relu,
                                                roundToBFloat16: bf16)
                            XCTAssertFalse(p.takesBlockedKernel)
                            gemmBlocked(p, scratch: GEMMScratch())
                        }
                    } } }
                    for i in 0..<m {
                        for j in 0..<ldc where viaSolve[i * ldc + j].bitPattern != viaBlocked[i * ldc + j].bitPattern {
                            failures += 1
                            if failures <= 5 {
                                XCTFail("k \(k) m \(m) n \(n) trans \(transA)/\(transB) bf16 \(bf16): C[\(i),\(j)] = "
                                        + "\(viaSolve[i * ldc + j]), blocked kernel \(viaBlocked[i * ldc + j])")
                            }
                        }
                    }
                }
            }
        }
        XCTAssertEqual(failures, 0)
    }

    /// Split over two threads (by rows or columns, as `gemmRun` cuts it) the path gives the
    /// one-thread bits, and it never writes past n in C's rows.
    func testSmallKThreadSplitsGiveTheSameBits() {
        var rng = SeededRNG(seed: 5)
        for (m, k, n) in [(256, 3, 127), (128, 4, 475), (9, 1, 600)] {
            let a = (0..<(m * k)).map { _ in rng.nextUniform() - 0.5 }
            let b = (0..<(n * k)).map { _ in rng.nextUniform() - 0.5 }
            let ldc = n + 1
            var one = [Float](repeating: 7, count: m * ldc), two = one
            sgemm(transA: false, transB: true, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: k,
                  beta: 1, c: &one, ldc: ldc, threads: 1)
            sgemm(transA: false, transB: true, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: k,
                  beta: 1, c: &two, ldc: ldc, threads: 2)
            XCTAssertEqual(one.map(\.bitPattern), two.map(\.bitPattern), "\(m)x\(k)x\(n)")
            for i in 0..<m { XCTAssertEqual(one[i * ldc + n], 7, "row \(i)'s padding was written") }
        }
    }
}
