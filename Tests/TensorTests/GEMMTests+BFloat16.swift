import XCTest
@testable import Tensor

/// bfloat16 input rounding: the rounding itself against an independent reference, the packing with
/// rounding against packing then rounding, and the GEMM with rounding against `sgemmNaive` on
/// pre-rounded operands (through `run`, which also demands the same bits as the plain GEMM on them).
extension GEMMTests {
    /// Round to nearest, ties to even, by value: the two bfloat16 neighbours of x (truncation and the
    /// next one up in magnitude) and a Double distance comparison. Shares no bit trick with the kernel.
    func bf16ReferenceRound(_ x: Float) -> Float {
        if x.isNaN { return .nan }
        if x.isInfinite { return x }
        let down = Float(bitPattern: x.bitPattern & 0xFFFF_0000)
        if down == x { return x }
        let up = Float(bitPattern: (x.bitPattern & 0xFFFF_0000) &+ 0x1_0000)   // may be ±inf
        // Beyond the largest bfloat16 + half an ulp, IEEE rounding gives inf: measure `up` as if
        // the exponent range continued (2^128 for inf).
        let upValue = up.isInfinite ? (x < 0 ? -1 : 1) * 0x1p128 : Double(up)
        let dDown = abs(Double(x) - Double(down)), dUp = abs(upValue - Double(x))
        if dDown < dUp { return down }
        if dUp < dDown { return up }
        return (down.bitPattern >> 16) & 1 == 0 ? down : up
    }

    func bf16EdgeValues() -> [Float] {
        var values: [Float] = [0, -0, 1, -1, 1.5, 3.14159, -2.71828, 1e-3, 65504, 1e30, -1e-30,
                               .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                               .leastNormalMagnitude, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
                               Float(bitPattern: 0x007F_FFFF), Float(bitPattern: 0x0000_8000), Float(bitPattern: 0x0001_8000),
                               .infinity, -.infinity, .nan, -.nan, Float(bitPattern: 0x7F80_0001),
                               Float(bitPattern: 0xFF80_0001), Float(bitPattern: 0x7FFF_FFFF), .signalingNaN,
                               Float(bitPattern: 0x7F7F_8000), Float(bitPattern: 0x7F7F_7FFF)]
        // Ties (low half exactly 0x8000) with even and odd kept parts, and their neighbours.
        for high: UInt32 in [0x3F80, 0x3F81, 0xBF80, 0xBF81, 0x0000, 0x0001, 0x7F7E, 0x7F7F] {
            for low: UInt32 in [0x7FFF, 0x8000, 0x8001, 0x0000, 0xFFFF] {
                values.append(Float(bitPattern: high << 16 | low))
            }
        }
        var rng = SeededRNG(seed: 5)
        for _ in 0..<2000 { values.append(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))) }
        return values
    }

    func testBF16RoundingMatchesReference() {
        let values = bf16EdgeValues()
        for x in values {
            let got = roundToBFloat16(x), want = bf16ReferenceRound(x)
            if want.isNaN {
                XCTAssert(got.isNaN, "\(x.bitPattern): got \(got)")
                XCTAssertEqual(got.sign, x.sign, "NaN keeps its sign")
            } else {
                XCTAssertEqual(got.bitPattern, want.bitPattern, "x = \(x) (0x\(String(x.bitPattern, radix: 16)))")
            }
            XCTAssertEqual(got.bitPattern & 0xFFFF, 0, "low half must be zero for \(x)")
        }
        XCTAssertEqual(roundToBFloat16(Float.greatestFiniteMagnitude), .infinity)
        XCTAssertEqual(roundToBFloat16(Float(bitPattern: 0x3F80_8000)).bitPattern, 0x3F80_0000)  // tie, even: down
        XCTAssertEqual(roundToBFloat16(Float(bitPattern: 0x3F81_8000)).bitPattern, 0x3F82_0000)  // tie, odd: up
        XCTAssertEqual(roundToBFloat16(Float(bitPattern: 0x0000_8000)).bitPattern, 0)            // subnormal tie
        XCTAssert(roundToBFloat16(Float(bitPattern: 0x7F80_0001)).isNaN)                         // payload only in the low half

        // The 16-lane form agrees with the scalar one bit for bit (NaN included).
        var i = 0
        while i + 16 <= values.count {
            var v = SIMD16<Float>()
            for l in 0..<16 { v[l] = values[i + l] }
            let r = roundToBFloat16(v)
            for l in 0..<16 {
                XCTAssertEqual(r[l].bitPattern, roundToBFloat16(values[i + l]).bitPattern, "lane \(l) of \(values[i + l])")
            }
            i += 16
        }
    }

    /// Packing with rounding == packing, then rounding every packed value, in all four layouts.
    func testBF16PackEqualsPackThenRound() {
        var rng = SeededRNG(seed: 11)
        let specials: [Float] = [.nan, .infinity, Float(bitPattern: 0x3F80_8000), Float(bitPattern: 0x3F81_8000), .greatestFiniteMagnitude]
        for (width, transposed) in [(gemmMR, false), (gemmMR, true), (gemmNR, false), (gemmNR, true)] {
            for (lines, kc) in [(1, 1), (13, 15), (14, 16), (33, 17), (70, 40), (300, 33)] {
                let ld = max(lines, kc) + 3
                var src = (0..<(max(lines, kc) * ld)).map { _ in rng.nextNormal() }
                for i in stride(from: 0, to: src.count, by: 37) { src[i] = specials[(i / 37) % specials.count] }
                let panels = (lines + width - 1) / width
                var plain = [Float](repeating: .nan, count: panels * kc * width)
                var rounded = plain
                src.withUnsafeBufferPointer { s in
                    for (out, round) in [(0, false), (1, true)] {
                        let body = { (d: UnsafeMutablePointer<Float>) in
                            if width == gemmMR {
                                packA(transA: transposed, a: s.baseAddress!, lda: ld, mc: lines, kc: kc, into: d, roundToBFloat16: round)
                            } else {
                                packB(transB: transposed, b: s.baseAddress!, ldb: ld, kc: kc, nc: lines, into: d, roundToBFloat16: round)
                            }
                        }
                        if out == 0 { plain.withUnsafeMutableBufferPointer { body($0.baseAddress!) } }
                        else { rounded.withUnsafeMutableBufferPointer { body($0.baseAddress!) } }
                    }
                }
                XCTAssertEqual(rounded.map(\.bitPattern), plain.map { roundToBFloat16($0).bitPattern },
                               "width \(width) transposed \(transposed) lines \(lines) kc \(kc)")
            }
        }
    }

    func testBF16AwkwardShapesAllTransposes() {
        for (ta, tb) in transposes {
            // Blocked kernel (edges in m and n, several k-blocks) and the small-n path (n <= 8,
            // both of its A layouts), with every epilogue option somewhere.
            for (m, k, n) in [(1, 1, 1), (7, 5, 13), (33, 17, 40), (257, 65, 129), (20, 700, 40),
                              (130, 33, 3), (67, 19, 8), (5, 40, 1), (200, 300, 5)] {
                run(Case(transA: ta, transB: tb, m: m, n: n, k: k, bf16: true))
                run(Case(transA: ta, transB: tb, m: m, n: n, k: k, alpha: -0.5, beta: 0.3,
                                        padA: 3, padB: 5, padC: 2, bias: true, relu: true, bf16: true))
                run(Case(transA: ta, transB: tb, m: m, n: n, k: k, beta: 1, padA: 1, threads: 2, bf16: true))
            }
        }
    }

    func testBF16SizeSweep() {
        let sizes = [0, 1, 2, 3, 4, 5, 8, 9, 13, 14, 15, 16, 17, 31, 32, 33, 65]
        let ks = [0, 1, 3, 15, 16, 17, 33]
        var i = 0
        for m in sizes {
            for n in sizes {
                let (ta, tb) = transposes[i % 4]
                run(Case(transA: ta, transB: tb, m: m, n: n, k: ks[(i / 4) % ks.count],
                                        beta: [0, 1, 0.3][i % 3], padA: i % 3, padB: (i / 3) % 2,
                                        bias: i % 5 == 0, relu: i % 7 < 3, bf16: true))
                i += 1
            }
        }
    }

    /// Small-n rows are rounded in chunks of whole row units: a tall problem crosses chunk
    /// boundaries (k = 300 gives 192-row chunks), with 1 and 2 threads.
    func testBF16SmallNChunks() {
        for ta in [false, true] {
            for threads in [1, 2] {
                run(Case(transA: ta, m: 1000, n: 3, k: 300, bias: true, threads: threads, bf16: true))
            }
        }
    }

    func testBF16Batched() {
        let batch = 3, m = 37, n = 45, k = 19
        var rng = SeededRNG(seed: 8)
        let a = (0..<m * k).map { _ in rng.nextNormal() }
        let b = (0..<batch * k * n).map { _ in rng.nextNormal() }
        var c = [Float](repeating: .nan, count: batch * m * n)
        var ref = c
        sgemmBatched(batch: batch, transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a, lda: k, strideA: 0,
                     b: b, ldb: n, strideB: k * n, beta: 0, c: &c, ldc: n, strideC: m * n, roundToBFloat16: true)
        sgemmBatched(batch: batch, transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a.map(roundToBFloat16), lda: k,
                     strideA: 0, b: b.map(roundToBFloat16), ldb: n, strideB: k * n, beta: 0, c: &ref, ldc: n, strideC: m * n)
        XCTAssertEqual(c.map(\.bitPattern), ref.map(\.bitPattern))
    }
}
