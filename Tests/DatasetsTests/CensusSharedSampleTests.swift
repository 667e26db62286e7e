import XCTest
import Datasets

/// The real UCI rows in `../shared/data/census` (beside the project's root): present for developers
/// and CI, absent from a user's fresh clone, where these tests skip.
final class CensusSharedSampleTests: XCTestCase {
    static let directory: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()  // the package root
        .appendingPathComponent("../shared/data/census").standardized.path

    func testSharedSample() throws {
        try XCTSkipIf(CensusIncome.files(in: Self.directory) == nil, "no Census sample at \(Self.directory)")
        let data = try CensusIncome.load(directory: Self.directory)
        XCTAssertEqual(data.train.count, 13_334)
        XCTAssertEqual(data.test.count, 6_666)
        XCTAssertEqual(data.train.denseWidth, 11)
        XCTAssertEqual(data.train.fieldCount, 29)
        XCTAssertEqual(data.encoder.schema.fieldNames, CensusIncome.sparseNames)
        for (rows, capacity) in zip(data.encoder.schema.fieldRows, CensusIncome.defaultTableSizes) {
            XCTAssertGreaterThanOrEqual(rows, capacity + 1)
        }
        XCTAssertTrue(data.train.dense.allSatisfy { (0 ... 1).contains($0) })
        XCTAssertTrue(data.test.dense.allSatisfy { (0 ... 1).contains($0) })
        let total = data.encoder.schema.totalRows
        XCTAssertTrue(data.train.ids.allSatisfy { $0 >= 0 && Int($0) < total })
        XCTAssertTrue(data.test.ids.allSatisfy { $0 >= 0 && Int($0) < total })

        func rate(_ t: TabularData, _ task: Int) -> Double {
            stride(from: task, to: t.labels.count, by: t.taskCount).reduce(0) { $0 + Double(t.labels[$1]) } / Double(t.count)
        }
        let rates = (0 ..< 2).map { (train: rate(data.train, $0), test: rate(data.test, $0)) }
        print("Census sample label rates: income train \(rates[0].train) test \(rates[0].test); marital train \(rates[1].train) test \(rates[1].test)")
        if !data.warnings.isEmpty { print("Census sample warnings:\n" + data.warnings.joined(separator: "\n")) }
        for r in [rates[0].train, rates[0].test] { XCTAssert((0.03 ... 0.10).contains(r), "income rate \(r)") }
        for r in [rates[1].train, rates[1].test] { XCTAssert((0.25 ... 0.55).contains(r), "marital rate \(r)") }
    }
}
