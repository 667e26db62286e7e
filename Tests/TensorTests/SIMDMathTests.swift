import XCTest
import Tensor

final class SIMDMathTests: XCTestCase {
    /// Across the whole positive float range (including subnormals), against Double's square root.
    func testSqrt16IsWithinFloatPrecision() {
        var worst = 0.0
        var x: Float = Float.leastNonzeroMagnitude
        while x < Float.greatestFiniteMagnitude / 4 {
            let lanes = SIMD16<Float>((0..<16).map { x * (1 + Float($0) / 16) })
            let r = sqrt16(lanes)
            for l in 0..<16 where lanes[l].isNormal {
                let exact = Double(lanes[l]).squareRoot()
                worst = max(worst, abs(Double(r[l]) - exact) / exact)
            }
            x *= 1.9
        }
        XCTAssertLessThan(worst, 2.5e-7)
        XCTAssertEqual(sqrt16(SIMD16(repeating: 0)), SIMD16(repeating: 0))
        XCTAssertEqual(sqrt16(SIMD16(repeating: 4))[0], 2, accuracy: 1e-6)
    }
}
