import XCTest
import Foundation
@testable import Datasets

/// Issue 19, defect 8: extreme finite dense values (3e38 and -3e38 in one column, whose
/// max - min overflows Float) scale into [0, 1] like any others.
final class ExtremeDenseTests: XCTestCase {
    func testARangeWiderThanFloatScalesFinitely() throws {
        let train = ["3e38", "-3e38", "0"].map { CensusFixture.line(["capital_gains": $0]) }
        let dir = try CensusFixture.write(self, train: train, test: [CensusFixture.line(["capital_gains": "1.5e38"])])
        let census = try CensusIncome.load(directory: dir)
        let d = CensusIncome.denseNames.firstIndex(of: "capital_gains")!
        let width = census.train.denseWidth
        let column = (0..<census.train.count).map { census.train.dense[$0 * width + d] }
        XCTAssertEqual(column, [1, 0, 0.5])
        XCTAssertEqual(census.test.dense[d], 0.75, accuracy: 1e-6)
        XCTAssertTrue(census.train.dense.allSatisfy(\.isFinite))
    }
}
