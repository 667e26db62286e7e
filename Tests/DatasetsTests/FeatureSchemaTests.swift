import XCTest
import Datasets

final class FeatureSchemaTests: XCTestCase {
    func testOffsetsAndUnknownRows() {
        let s = FeatureSchema(denseNames: ["a"], fieldNames: ["x", "y", "z"], fieldRows: [3, 1, 5])
        XCTAssertEqual(s.fieldOffsets, [0, 3, 4])
        XCTAssertEqual(s.totalRows, 9)
        XCTAssertEqual(s.unknownRow(field: 0), 2)
        XCTAssertEqual(s.unknownRow(field: 2), 8)
    }

    func testErrorNamesFileLineAndField() {
        let e = DatasetError(file: "census-income.data", line: 7, field: "age", "not a number: \"x\"")
        XCTAssertEqual(e.description, "census-income.data:7 field age: not a number: \"x\"")
    }
}
