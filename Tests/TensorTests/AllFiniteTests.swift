import XCTest
@testable import Tensor

/// `Kernels.allFinite`: a NaN or an infinity anywhere (in the 16-wide body or the tail) is seen,
/// and the tensor is left as it was.
final class AllFiniteTests: XCTestCase {
    func testFindsEveryNonFiniteValueAndChangesNothing() {
        for n in [0, 1, 15, 16, 17, 40] {
            let values = (0..<n).map { Float($0) * 1e30 - 3 }
            XCTAssertTrue(Kernels.allFinite(Tensor(shape: [n], scalars: values)), "n \(n)")
            for bad: Float in [.nan, .infinity, -.infinity] {
                for at in 0..<n {
                    var v = values
                    v[at] = bad
                    let t = Tensor(shape: [n], scalars: v)
                    XCTAssertFalse(Kernels.allFinite(t), "n \(n), \(bad) at \(at)")
                    XCTAssertEqual(t.scalars.map(\.bitPattern), v.map(\.bitPattern))
                }
            }
        }
        XCTAssertTrue(Kernels.allFinite(Tensor(shape: [3], scalars: [.greatestFiniteMagnitude, -.greatestFiniteMagnitude, 0])))
    }
}
