import XCTest
@testable import Tensor

/// The micro-kernel computes each element of its 14 x 32 tile in the documented order: one fused
/// multiply-add per k, in order, from zero, then `storeRow`'s epilogue. The AVX-512 kernel and the
/// AVX2 one (`MMOE_AVX2`, row passes over 16-column halves, in chunks of k) are both held to it, so a build on either kind of
/// CPU gives the same bits; whichever this machine compiled is the one tested.
final class GEMMMicroKernelTests: XCTestCase {
    func testEveryElementIsTheDocumentedFMAChainAndEpilogue() {
        var rng = SeededRNG(seed: 41)
        var failures = 0
        for (kc, alpha, beta, bias, relu, rows) in [(1, Float(1), Float(0), false, false, gemmMR), (37, 1, 1, true, true, gemmMR),
                                                   (256, -0.5, 0.3, true, false, 9), (5, 2, 0, false, true, 1),
                                                   // Across the AVX2 kernel's k chunks (128), with each of its row passes last.
                                                   (300, 1, 1, true, true, 12), (129, 1, 0.5, true, false, 5), (130, 1, 0, false, false, 6),
                                                   // Chunks of uneven length (91, 91, 90); no k at all.
                                                   (272, 1, 0, true, true, gemmMR), (0, 1, 1, true, false, 11)] {
            let pa = (0 ..< kc * gemmMR).map { _ in rng.nextUniform() * 2 - 1 }
            let pb = (0 ..< kc * gemmNR).map { _ in rng.nextUniform() * 2 - 1 }
            let biasValues = (0 ..< gemmNR).map { _ in rng.nextUniform() - 0.5 }
            let ldc = gemmNR + 3
            let c0 = (0 ..< gemmMR * ldc).map { _ in rng.nextUniform() }
            var c = c0
            biasValues.withUnsafeBufferPointer { bp in
                let ep = GEMMEpilogue(alpha: alpha, beta: beta, bias: bias ? bp.baseAddress : nil, relu: relu)
                c.withUnsafeMutableBufferPointer { cp in
                    sgemmMicroKernel(kc: kc, pa: pa, pb: pb, c: cp.baseAddress!, ldc: ldc, rows: rows, ep: ep)
                }
            }
            for r in 0 ..< gemmMR {
                for j in 0 ..< ldc {
                    guard r < rows, j < gemmNR else {
                        if c[r * ldc + j].bitPattern != c0[r * ldc + j].bitPattern { failures += 1 }  // outside the tile: untouched
                        continue
                    }
                    var s: Float = 0
                    for p in 0 ..< kc { s = s.addingProduct(pa[p * gemmMR + r], pb[p * gemmNR + j]) }
                    var v = s * alpha
                    if beta != 0 { v = v + beta * c0[r * ldc + j] }
                    if bias { v = v + biasValues[j] }
                    if relu && v < 0 { v = 0 }
                    if c[r * ldc + j].bitPattern != v.bitPattern {
                        failures += 1
                        if failures <= 5 { XCTFail("kc \(kc) row \(r) column \(j): \(c[r * ldc + j]) against \(v)") }
                    }
                }
            }
        }
        XCTAssertEqual(failures, 0)
    }
}
