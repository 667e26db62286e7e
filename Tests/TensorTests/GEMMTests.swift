import XCTest
@testable import Tensor

/// `sgemm` against the Double-accumulating `sgemmNaive`.
///
/// Tolerance: a sum of k products computed in Float (in any order, with or without fused
/// multiply-adds, plus the epilogue's few extra roundings) is within `(k + 4) * u * S` of the exact
/// value, where u = 2^-24 is the unit roundoff and S = |alpha| * sum_p |a_ip b_pj| + |beta c_ij| + |bias_j|
/// (the standard gamma_n bound of recursive summation, n = k + 4 operations). We allow twice that,
/// `(k + 4) * Float.ulpOfOne * S`, plus a tiny absolute term for S == 0. This is a worst-case bound,
/// so the tests cannot flake, yet it is tight enough to catch a missing or repeated term.
final class GEMMTests: XCTestCase {
    struct Case {
        var transA = false, transB = false
        var m = 1, n = 1, k = 1
        var alpha: Float = 1, beta: Float = 0
        var padA = 0, padB = 0, padC = 0
        var bias = false, relu = false
        var threads = 1
        /// Round A and B to bfloat16: compared with the reference on pre-rounded operands.
        var bf16 = false
    }

    /// Random operands with NaN in the row padding (never to be read) and a sentinel in C's padding
    /// (never to be written). C's valid part is NaN when beta == 0, so an unwritten element shows.
    func run(_ t: Case, seed: UInt64 = 1, file: StaticString = #filePath, line: UInt = #line) {
        var rng = SeededRNG(seed: seed &+ UInt64(t.m * 1_000_003 + t.n * 1009 + t.k))
        let (aRows, aCols) = t.transA ? (t.k, t.m) : (t.m, t.k)
        let (bRows, bCols) = t.transB ? (t.n, t.k) : (t.k, t.n)
        let lda = aCols + t.padA, ldb = bCols + t.padB, ldc = t.n + t.padC
        func matrix(_ rows: Int, _ cols: Int, _ ld: Int, pad: Float) -> [Float] {
            var x = [Float](repeating: pad, count: max(1, rows * ld))
            for r in 0..<rows { for c in 0..<cols { x[r * ld + c] = rng.nextUniform() * 2 - 1 } }
            return x
        }
        let a = matrix(aRows, aCols, lda, pad: .nan)
        let b = matrix(bRows, bCols, ldb, pad: .nan)
        // What the products see: the operands themselves, or their bfloat16 roundings.
        let ar = t.bf16 ? a.map(roundToBFloat16) : a, br = t.bf16 ? b.map(roundToBFloat16) : b
        let sentinel: Float = 12345
        var c = matrix(t.m, t.n, ldc, pad: sentinel)
        if t.beta == 0 { for r in 0..<t.m { for j in 0..<t.n { c[r * ldc + j] = .nan } } }
        let bias = (0..<max(1, t.n)).map { _ in rng.nextUniform() * 2 - 1 }
        var ref = c
        let c0 = c

        a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in bias.withUnsafeBufferPointer { bias in
            c.withUnsafeMutableBufferPointer { c in
                sgemm(transA: t.transA, transB: t.transB, m: t.m, n: t.n, k: t.k, alpha: t.alpha,
                      a: a.baseAddress!, lda: lda, b: b.baseAddress!, ldb: ldb, beta: t.beta,
                      c: c.baseAddress!, ldc: ldc, bias: t.bias ? bias.baseAddress! : nil, relu: t.relu,
                      roundToBFloat16: t.bf16, threads: t.threads)
            }
        } } }
        ar.withUnsafeBufferPointer { a in br.withUnsafeBufferPointer { b in bias.withUnsafeBufferPointer { bias in
            ref.withUnsafeMutableBufferPointer { r in
                sgemmNaive(transA: t.transA, transB: t.transB, m: t.m, n: t.n, k: t.k, alpha: t.alpha,
                           a: a.baseAddress!, lda: lda, b: b.baseAddress!, ldb: ldb, beta: t.beta,
                           c: r.baseAddress!, ldc: ldc, bias: t.bias ? bias.baseAddress! : nil, relu: t.relu)
            }
            if t.bf16 {
                // Rounding happens only on the way into the kernels: the plain GEMM on pre-rounded
                // operands runs the same kernels on the same values, so it gives the same bits.
                var plain = c0
                plain.withUnsafeMutableBufferPointer { p in
                    sgemm(transA: t.transA, transB: t.transB, m: t.m, n: t.n, k: t.k, alpha: t.alpha,
                          a: a.baseAddress!, lda: lda, b: b.baseAddress!, ldb: ldb, beta: t.beta,
                          c: p.baseAddress!, ldc: ldc, bias: t.bias ? bias.baseAddress! : nil, relu: t.relu,
                          threads: t.threads)
                }
                if plain.map(\.bitPattern) != c.map(\.bitPattern) {
                    XCTFail("\(t): bf16 GEMM differs from the plain GEMM on pre-rounded operands", file: file, line: line)
                }
            }
        } } }

        var failures = 0
        for i in 0..<t.m {
            for j in 0..<t.n {
                var s: Float = 0
                for p in 0..<t.k {
                    let av = t.transA ? ar[p * lda + i] : ar[i * lda + p]
                    let bv = t.transB ? br[j * ldb + p] : br[p * ldb + j]
                    s += abs(av * bv)
                }
                s = abs(t.alpha) * s + (t.beta == 0 ? 0 : abs(t.beta * c0[i * ldc + j])) + (t.bias ? abs(bias[j]) : 0)
                let tol = Float(t.k + 4) * Float.ulpOfOne * s + 1e-30
                let got = c[i * ldc + j], want = ref[i * ldc + j]
                if !(abs(got - want) <= tol) {
                    failures += 1
                    if failures <= 3 {
                        XCTFail("\(t) C[\(i),\(j)] = \(got), want \(want) (tol \(tol))", file: file, line: line)
                    }
                }
            }
            for j in t.n..<ldc where c[i * ldc + j] != sentinel {
                XCTFail("\(t) wrote C[\(i),\(j)] in the row padding", file: file, line: line)
                return
            }
        }
    }

    let transposes = [(false, false), (false, true), (true, false), (true, true)]

    func testFixedShapesAllTransposes() {
        for (ta, tb) in transposes {
            for (m, k, n) in [(1, 1, 1), (7, 5, 13), (257, 65, 129)] {
                run(Case(transA: ta, transB: tb, m: m, n: n, k: k))
                run(Case(transA: ta, transB: tb, m: m, n: n, k: k, alpha: -0.5, beta: 0.3,
                         padA: 3, padB: 5, padC: 2, bias: true, relu: true))
            }
        }
    }

    /// Every (m, n) in 0...20 plus the awkward sizes around the tile widths, with k and the
    /// options rotating so that all combinations are hit somewhere without a full cross product.
    func testSizeSweep() {
        let sizes = Array(0...20) + [31, 33, 65]
        let ks = [0, 1, 2, 3, 5, 8, 15, 16, 17, 20, 31, 33, 65]
        let alphas: [Float] = [1, -0.5], betas: [Float] = [0, 1, 0.3]
        var i = 0
        for m in sizes {
            for n in sizes {
                let (ta, tb) = transposes[i % 4]
                run(Case(transA: ta, transB: tb, m: m, n: n, k: ks[(i / 4) % ks.count],
                         alpha: alphas[i % 2], beta: betas[i % 3], padA: i % 3, padB: (i / 3) % 2,
                         padC: i % 2, bias: i % 5 == 0, relu: i % 7 < 3))
                i += 1
            }
        }
    }

    func testAlphaBetaBiasReluCombinations() {
        for (ta, tb) in transposes {
            for alpha: Float in [1, -0.5] {
                for beta: Float in [0, 1, 0.3] {
                    for (bias, relu) in [(false, false), (true, false), (true, true)] {
                        // n = 40 takes the blocked kernel, n = 3 the small-n path.
                        for n in [40, 3] {
                            run(Case(transA: ta, transB: tb, m: 33, n: n, k: 17, alpha: alpha, beta: beta,
                                     padA: 1, padB: 2, padC: 3, bias: bias, relu: relu))
                        }
                    }
                }
            }
        }
    }

    func testZeroK() {
        for beta: Float in [0, 1, 0.3] {
            run(Case(m: 5, n: 40, k: 0, beta: beta, padC: 1, bias: true, relu: true))
            run(Case(m: 5, n: 3, k: 0, beta: beta, bias: false))
        }
    }

    /// Shapes that cross the cache-blocking boundaries: several k-blocks (C accumulates across them
    /// with the epilogue applied once), more than one mc block, more than one nc block.
    func testBlockBoundaries() {
        run(Case(transA: false, transB: true, m: 20, n: 40, k: 700, alpha: -0.5, beta: 0.3, bias: true, relu: true))
        run(Case(transA: true, transB: false, m: 20, n: 5, k: 700, beta: 1, bias: true))
        run(Case(m: gemmMC + 9, n: 40, k: 10, beta: 0.3, threads: 2))
        run(Case(transB: true, m: 3, n: gemmNC + 40, k: 5, bias: true, relu: true))
        run(Case(transA: true, m: 150, n: 70, k: 33, alpha: -0.5, beta: 1, padA: 1, padC: 1, threads: 2))
        run(Case(transA: true, m: 200, n: 7, k: 33, beta: 0.3, threads: 2))
        // Plain products read B in place (`gemmReadsBInPlace`): across k-blocks and nc blocks,
        // with a partial last panel (packed) and a padded ldb; and one too tall to, which packs.
        run(Case(m: 20, n: 70, k: 700, alpha: -0.5, beta: 0.3, padB: 3, bias: true, relu: true))
        run(Case(m: 3, n: gemmNC + 40, k: 12, padB: 1, bias: true))
        run(Case(m: gemmInPlaceBMaxRows + 5, n: 45, k: 37, beta: 1, padB: 2, relu: true, threads: 2))
    }

    func testBatched() {
        let batch = 3, m = 37, n = 45, k = 19
        var rng = SeededRNG(seed: 7)
        let aShared = (0..<m * k).map { _ in rng.nextUniform() - 0.5 }
        let aMany = (0..<batch * m * k).map { _ in rng.nextUniform() - 0.5 }
        let b = (0..<batch * k * n).map { _ in rng.nextUniform() - 0.5 }
        let bias = (0..<batch * n).map { _ in rng.nextUniform() - 0.5 }
        for (a, strideA) in [(aShared, 0), (aMany, m * k)] {
            for threads in [1, 2] {
                var c = [Float](repeating: .nan, count: batch * m * n)
                sgemmBatched(batch: batch, transA: false, transB: false, m: m, n: n, k: k, alpha: 1,
                             a: a, lda: k, strideA: strideA, b: b, ldb: n, strideB: k * n,
                             beta: 0, c: &c, ldc: n, strideC: m * n, bias: bias, strideBias: n, relu: true,
                             threads: threads)
                for i in 0..<batch {
                    var ref = [Float](repeating: 0, count: m * n)
                    a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in bias.withUnsafeBufferPointer { bias in
                        sgemmNaive(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a.baseAddress! + i * strideA,
                                   lda: k, b: b.baseAddress! + i * k * n, ldb: n, beta: 0, c: &ref, ldc: n,
                                   bias: bias.baseAddress! + i * n, relu: true)
                    } } }
                    for e in 0..<m * n {
                        XCTAssertEqual(c[i * m * n + e], ref[e], accuracy: 1e-5, "batch \(i) element \(e) threads \(threads)")
                    }
                }
            }
        }
    }

    /// The same problem with 1, 2 and 3 threads must give the same bits.
    func testDeterministicAcrossThreadCounts() {
        for (ta, tb, m, k, n) in [(false, false, 300, 150, 200), (false, true, 1024, 96, 64),
                                  (true, false, 300, 150, 200), (true, false, 1000, 40, 3),
                                  (false, false, 1000, 40, 5)] {
            var rng = SeededRNG(seed: 42)
            let a = (0..<m * k).map { _ in rng.nextNormal() }
            let b = (0..<k * n).map { _ in rng.nextNormal() }
            let bias = (0..<n).map { _ in rng.nextNormal() }
            let lda = ta ? m : k, ldb = tb ? k : n
            var results: [[UInt32]] = []
            for threads in [1, 2, 3] {
                var c = (0..<m * n).map { Float($0 % 7) }
                sgemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.7, a: a, lda: lda, b: b, ldb: ldb,
                      beta: 0.5, c: &c, ldc: n, bias: bias, relu: true, threads: threads)
                results.append(c.map(\.bitPattern))
            }
            XCTAssertEqual(results[0], results[1], "\(m)x\(k)x\(n) threads 1 vs 2")
            XCTAssertEqual(results[0], results[2], "\(m)x\(k)x\(n) threads 1 vs 3")
        }
        // Batched: the split differs with the thread count (whole GEMMs vs parts of them).
        let batch = 3, m = 256, k = 100, n = 64
        var rng = SeededRNG(seed: 3)
        let a = (0..<m * k).map { _ in rng.nextNormal() }
        let b = (0..<batch * k * n).map { _ in rng.nextNormal() }
        var results: [[UInt32]] = []
        for threads in [1, 2, 3] {
            var c = [Float](repeating: .nan, count: batch * m * n)
            sgemmBatched(batch: batch, transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a, lda: k,
                         strideA: 0, b: b, ldb: n, strideB: k * n, beta: 0, c: &c, ldc: n, strideC: m * n,
                         threads: threads)
            results.append(c.map(\.bitPattern))
        }
        XCTAssertEqual(results[0], results[1])
        XCTAssertEqual(results[0], results[2])
    }
    /// Many back-to-back calls alternating the thread count (the worker pool then runs jobs both
    /// narrower and as wide as itself, spinning and parked) must all give the single-thread bits.
    func testWorkerPoolAlternatingThreadCounts() {
        let m = 128, k = 64, n = 48   // big enough to be split (see gemmMinFlopsPerPart)
        var rng = SeededRNG(seed: 9)
        let a = (0..<m * k).map { _ in rng.nextNormal() }
        let b = (0..<k * n).map { _ in rng.nextNormal() }
        var want = [Float](repeating: 0, count: m * n)
        sgemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: n,
              beta: 0, c: &want, ldc: n, threads: 1)
        for i in 0..<300 {
            if i % 100 == 99 { usleep(2000) }   // let the workers park
            var c = [Float](repeating: .nan, count: m * n)
            sgemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: n,
                  beta: 0, c: &c, ldc: n, threads: [2, 3, 2, 4][i % 4])
            if c.map(\.bitPattern) != want.map(\.bitPattern) { XCTFail("call \(i) differs"); return }
        }
    }
}

final class GEMMNestingTests: XCTestCase {
    /// GEMMs issued from inside parallel jobs (as per-core batch shards will) neither deadlock nor
    /// change a bit.
    func testGEMMInsideParallelJobsMatchesSerial() {
        let m = 200, k = 96, n = 150
        var rng = SeededRNG(seed: 3)
        let a = (0..<(m * k)).map { _ in rng.nextUniform() - 0.5 }
        let b = (0..<(k * n)).map { _ in rng.nextUniform() - 0.5 }
        var serial = [Float](repeating: 0, count: m * n)
        sgemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: n,
              beta: 0, c: &serial, ldc: n, threads: 1)
        let outputs = UnsafeMutablePointer<Float>.allocate(capacity: 4 * m * n)
        defer { outputs.deallocate() }
        Parallel.forEach(4, threads: 2) { i in
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    sgemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: pa.baseAddress!, lda: k,
                          b: pb.baseAddress!, ldb: n, beta: 0, c: outputs + i * m * n, ldc: n, threads: 2)
                }
            }
        }
        for i in 0..<4 {
            let got = Array(UnsafeBufferPointer(start: outputs + i * m * n, count: m * n))
            XCTAssertEqual(got.map(\.bitPattern), serial.map(\.bitPattern), "job \(i)")
        }
    }
}
