import XCTest
@testable import Tensor

final class SmokeTests: XCTestCase {
    func testViews() {
        let t = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(t.transposed().scalars, [1, 4, 2, 5, 3, 6])
        XCTAssertEqual(t.transposed().contiguous().scalars, [1, 4, 2, 5, 3, 6])
        XCTAssertEqual(t.slice(1, 1..<3).scalars, [2, 3, 5, 6])
        XCTAssertEqual(Tensor(shape: [1, 3], scalars: [1, 2, 3]).expanded(to: [2, 3]).scalars, [1, 2, 3, 1, 2, 3])
    }
}
