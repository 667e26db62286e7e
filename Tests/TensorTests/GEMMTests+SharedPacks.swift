import XCTest
@testable import Tensor

/// `GEMMPackSharing`: GEMMs whose B lies in the declared buffer share one pack of it; the results
/// must be the bits of the unshared GEMM, whatever the thread that packed, for every transpose and
/// across the blocking boundaries (several k-blocks, several nc-blocks, partial panels).
final class GEMMSharedPackTests: XCTestCase {
    /// One product `C = op(A) · op(B) (+ bias, ReLU)` with B taken from `weights` at `offset`.
    struct Product {
        var transA: Bool, transB: Bool, m: Int, n: Int, k: Int, offset: Int
        var bias = false, relu = false, threads = 1
        /// B's row stride, when wider than op(B) (rows with gaps).
        var ldb: Int? = nil
        /// Whether the GEMM packs op(B) (else it reads B in place, and nothing is shared).
        var packsB: Bool { !gemmReadsBInPlace(transA: transA, transB: transB, m: m, bf16: false) }
    }

    func compute(_ p: Product, a: [Float], weights: Tensor, bias: [Float]) -> [UInt32] {
        var c = [Float](repeating: .nan, count: p.m * p.n)
        let lda = p.transA ? p.m : p.k, ldb = p.ldb ?? (p.transB ? p.k : p.n)
        a.withUnsafeBufferPointer { a in bias.withUnsafeBufferPointer { bias in
            weights.withUnsafeBufferPointer { w in
                sgemm(transA: p.transA, transB: p.transB, m: p.m, n: p.n, k: p.k, alpha: 1, a: a.baseAddress!, lda: lda,
                      b: w.baseAddress! + p.offset, ldb: ldb, beta: 0, c: &c, ldc: p.n,
                      bias: p.bias ? bias.baseAddress! : nil, relu: p.relu, threads: p.threads)
            }
        } }
        return c.map(\.bitPattern)
    }

    /// Products of the model's kinds (forward NN, backward NT) and of every other layout, with
    /// shapes that cross the blocking and panel edges, computed unshared and then twice inside one
    /// scope, from two concurrent jobs (as two shards do) and with the GEMM itself split over
    /// threads: every result must have the unshared bits.
    func testSharedPacksGiveTheUnsharedBits() {
        let products: [Product] = [
            Product(transA: false, transB: false, m: 128, n: 256, k: 127, offset: 0, bias: true, relu: true),
            Product(transA: false, transB: true, m: 128, n: 127, k: 256, offset: 0),
            Product(transA: true, transB: false, m: 37, n: 45, k: 19, offset: 5, bias: true),
            Product(transA: true, transB: true, m: 29, n: 70, k: 33, offset: 11, relu: true),
            Product(transA: false, transB: false, m: 20, n: 33, k: 700, offset: 3, threads: 2),  // three k-blocks
            Product(transA: false, transB: true, m: 3, n: gemmNC + 40, k: gemmSmallK + 1, offset: 1, bias: true),  // two nc-blocks
            Product(transA: false, transB: false, m: 300, n: 96, k: 64, offset: 7, threads: 2),   // split by rows
        ]
        var rng = SeededRNG(seed: 5)
        let weights = Tensor(shape: [gemmNC * 8 + 20_000])
        weights.withUnsafeMutableBufferPointer { w in for i in w.indices { w[i] = rng.nextUniform() * 2 - 1 } }
        let bias = (0..<(gemmNC + 40)).map { _ in rng.nextUniform() - 0.5 }
        let inputs = products.map { p in (0..<(p.m * p.k)).map { _ in rng.nextUniform() * 2 - 1 } }
        let want = products.indices.map { compute(products[$0], a: inputs[$0], weights: weights, bias: bias) }

        let sharing = GEMMPackSharing()
        for round in 0..<2 {   // the second scope reuses the first one's memory
            var got = [[[UInt32]]](repeating: [], count: 2)
            sharing.sharing(weights) {
                got[0] = products.indices.map { compute(products[$0], a: inputs[$0], weights: weights, bias: bias) }
                let results = UnsafeMutablePointer<[[UInt32]]>.allocate(capacity: 2)
                results.initialize(repeating: [], count: 2)
                defer { results.deinitialize(count: 2); results.deallocate() }
                Parallel.forEach(2, threads: 2) { job in
                    // The jobs walk the products in opposite orders, so each finds packs half done.
                    let order = job == 0 ? Array(products.indices) : products.indices.reversed()
                    var out = [[UInt32]](repeating: [], count: products.count)
                    for i in order { out[i] = compute(products[i], a: inputs[i], weights: weights, bias: bias) }
                    results[job] = out
                }
                got[1] = results[0]
                XCTAssertEqual(results[1], want, "round \(round): second job")
            }
            // One pack per product, shared by the three computations of it (and by the parts of a split one).
            XCTAssertEqual(sharing.packsFilled, products.filter(\.packsB).count, "round \(round): packs filled")
            XCTAssertEqual(got[0], want, "round \(round): inside a scope")
            XCTAssertEqual(got[1], want, "round \(round): first job")
        }
    }

    /// A GEMM whose B lies outside the declared buffer packs its own (the scope must not hand it
    /// a weight's pack), and a scope that ended leaves no pack behind: B changed after the scope
    /// gives the new product. (A backward product: a forward one reads B in place.)
    func testOnlyTheDeclaredBufferIsShared() {
        let m = 30, k = 40, n = 50
        var rng = SeededRNG(seed: 8)
        let weights = Tensor(shape: [k * n])
        weights.withUnsafeMutableBufferPointer { w in for i in w.indices { w[i] = rng.nextUniform() - 0.5 } }
        let other = weights.copy()
        let a = (0..<(m * k)).map { _ in rng.nextUniform() - 0.5 }
        let p = Product(transA: false, transB: true, m: m, n: n, k: k, offset: 0)
        XCTAssertTrue(p.packsB)
        let sharing = GEMMPackSharing()
        let before = compute(p, a: a, weights: weights, bias: [0])
        sharing.sharing(weights) {
            XCTAssertEqual(compute(p, a: a, weights: weights, bias: [0]), before)
            // Same values, other address, then changed: the pack of `weights` must not be used.
            other.withUnsafeMutableBufferPointer { w in for i in w.indices { w[i] *= 2 } }
            XCTAssertNotEqual(compute(p, a: a, weights: other, bias: [0]), before)
        }
        XCTAssertEqual(sharing.packsFilled, 1, "only the declared buffer's operand is packed for sharing")
        weights.withUnsafeMutableBufferPointer { w in for i in w.indices { w[i] *= 2 } }
        sharing.sharing(weights) {
            XCTAssertEqual(compute(p, a: a, weights: weights, bias: [0]), compute(p, a: a, weights: other, bias: [0]))
        }
    }

    /// Packs kept across scopes and rewritten by an optimizer's pass (`WeightPackRefresh`) must be
    /// the packs of the new weights: the next scope uses them without packing (none filled) and
    /// every product has the bits of the unshared GEMM on the updated weights, on 1 and 2 threads
    /// (two runs of chunks, one starting inside a kept item). Forward (NN, one tall enough to
    /// pack B) and backward (NT) layouts, several k-blocks and nc-blocks, partial panels and partial line groups, rows with
    /// gaps, starts off the 16-element grid. Without a complete refresh, or after `invalidate`,
    /// the next scope packs everything again.
    func testRefreshedPacksAreThePacksOfTheUpdatedWeights() {
        let products: [Product] = [
            Product(transA: false, transB: false, m: 20, n: 45, k: 700, offset: 60_003),      // three k-blocks; a run starts inside
            Product(transA: false, transB: true, m: 9, n: 127, k: 256, offset: 17, bias: true), // a 15-line last group
            Product(transA: false, transB: true, m: 5, n: gemmNC + 40, k: 20, offset: 40_001),  // two nc-blocks, chunk edges inside groups
            Product(transA: false, transB: false, m: 33, n: 70, k: 64, offset: 130_011, ldb: 75),
            Product(transA: false, transB: true, m: 14, n: 48, k: 333, offset: 110_000, relu: true, ldb: 340),
            Product(transA: false, transB: false, m: gemmInPlaceBMaxRows + 8, n: 45, k: 37, offset: 140_001, ldb: 50),
        ]
        let packed = products.filter(\.packsB).count
        // The three backward products and the tall forward one; on AVX2, which reads no B in place, all.
        let readsInPlace = gemmReadsBInPlace(transA: false, transB: false, m: 1, bf16: false)
        XCTAssertEqual(packed, readsInPlace ? 4 : products.count, "the kept packs")
        var rng = SeededRNG(seed: 11)
        let count = 150_000
        let bias = (0..<(gemmNC + 40)).map { _ in rng.nextUniform() - 0.5 }
        let inputs = products.map { p in (0..<(p.m * p.k)).map { _ in rng.nextUniform() * 2 - 1 } }
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        for threads in [1, 2] {
            Parallel.threads = threads
            let weights = Tensor(shape: [count])
            weights.withUnsafeMutableBufferPointer { w in for i in w.indices { w[i] = rng.nextUniform() * 2 - 1 } }
            let grads = Tensor(shape: [count]), zeros = Tensor(shape: [count])
            let sharing = GEMMPackSharing()
            func step(refreshing: Bool) -> WeightPackRefresh? {
                grads.withUnsafeMutableBufferPointer { g in for i in g.indices { g[i] = rng.nextUniform() - 0.5 } }
                let refresh = refreshing ? sharing.refresh(of: weights) : nil
                Kernels.gradientDescentUpdate(values: weights, grads: grads, learningRate: 0.5,
                                              shards: ShardGradients(parts: [zeros], l2: 0, values: weights, lanes: nil, packs: refresh))
                return refresh
            }
            func check(filled: Int, _ label: String) {
                let want = products.indices.map { compute(products[$0], a: inputs[$0], weights: weights, bias: bias) }
                var got: [[UInt32]] = []
                sharing.sharing(weights, reusingRefreshedPacks: true) {
                    got = products.indices.map { compute(products[$0], a: inputs[$0], weights: weights, bias: bias) }
                }
                XCTAssertEqual(sharing.packsFilled, filled, "\(threads) threads, \(label): packs filled")
                for i in products.indices { XCTAssertEqual(got[i], want[i], "\(threads) threads, \(label): product \(i)") }
            }
            check(filled: packed, "first scope")
            for round in 0..<2 {
                let refresh = step(refreshing: true)
                XCTAssertNotNil(refresh)
                sharing.finish(refresh!)
                check(filled: 0, "after refresh \(round)")
            }
            // Written without a refresh: the caller says so, and everything is packed again.
            _ = step(refreshing: false)
            sharing.invalidate()
            check(filled: packed, "after invalidate")
            // A refresh whose pass never ran is incomplete: not used.
            let unused = sharing.refresh(of: weights)!
            sharing.finish(unused)
            check(filled: packed, "after an incomplete refresh")
            // A refresh is good for the next scope only.
            sharing.finish(step(refreshing: true)!)
            check(filled: 0, "after a last refresh")
            check(filled: packed, "a second scope after it")
        }
    }
}
