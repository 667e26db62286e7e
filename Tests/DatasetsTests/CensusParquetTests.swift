import XCTest
import Foundation
@testable import Datasets

/// OneFlow's Census Parquet folder (`train/` and `test/` of Spark's `part-*.parquet`): a small
/// copy of files the OneFlow tool wrote is committed in `Fixtures/parquet/oneflow/`; the whole
/// shared sample in `../shared/data/census-parquet` is read when present.
final class CensusParquetTests: XCTestCase {
    static let folder = (ParquetReaderTests.fixtures as NSString).appendingPathComponent("oneflow")
    static let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("../shared/data/census-parquet").standardized.path

    func testSparkFileReadsAsPyarrowReadsIt() throws {
        let json = try Data(contentsOf: URL(fileURLWithPath: (ParquetReaderTests.fixtures as NSString).appendingPathComponent("oneflow_expected.json")))
        let want = try XCTUnwrap(JSONSerialization.jsonObject(with: json) as? [String: [Any]])
        let train = try XCTUnwrap(CensusParquet.files(in: Self.folder)).train
        let file = try ParquetFile(path: train[1])
        XCTAssertEqual(file.rowGroupCount, 1)
        XCTAssertEqual(file.columnNames.count, 42)
        for name in CensusIncome.denseNames + CensusParquet.labelColumns {
            let got = try file.numbers(column: name, rowGroup: 0)
            XCTAssertEqual(got.values.count, want[name]!.count, name)
            // FLOAT columns: compared as Float (JSON's decimal text of a Float widened to Double
            // need not parse back to the same Double's last bits).
            for (a, b) in zip(got.values, want[name]!) { XCTAssertEqual(Float(a), (b as! NSNumber).floatValue, name) }
        }
        for name in CensusTaskGroup.incomeMarital.sparseNames {
            XCTAssertEqual(try file.integers(column: name, rowGroup: 0).values, want[name]!.map { ($0 as! NSNumber).int64Value }, name)
        }
    }

    func testFolderLoadsWithKeysAndUnknownRows() throws {
        let files = try XCTUnwrap(CensusParquet.files(in: Self.folder))
        XCTAssertEqual(files.train.count, 2, "_SUCCESS and .crc files are not data")
        XCTAssertEqual(files.test.count, 1)
        let data = try CensusIncome.load(directory: Self.folder, keepKeys: true)
        XCTAssertFalse(data.encoderReadsRawLines)
        XCTAssertEqual(data.train.count, 416)
        XCTAssertEqual(data.test.count, 208)
        XCTAssertEqual(data.train.fieldCount, 29)
        XCTAssertEqual(data.train.denseWidth, 11)
        XCTAssertEqual(data.train.taskNames, ["income", "marital"])
        let schema = data.encoder.schema
        // Every training id has a row of its own in its field; equal ids share it.
        var rowOfKey: [UInt64: Int32] = [:]
        for (i, key) in data.train.keys!.enumerated() {
            let f = i % 29
            let row = data.train.ids[i]
            XCTAssertTrue(row >= schema.fieldOffsets[f] && Int(row) < schema.unknownRow(field: f), "field \(f)")
            if let seen = rowOfKey[key] { XCTAssertEqual(seen, row) } else { rowOfKey[key] = row }
        }
        // Test ids: their training row, or the field's unknown row when training never saw them.
        var unknown = 0
        for (i, key) in data.test.keys!.enumerated() {
            let row = data.test.ids[i]
            if let trained = rowOfKey[key] { XCTAssertEqual(row, trained) } else {
                XCTAssertEqual(Int(row), schema.unknownRow(field: i % 29))
                unknown += 1
            }
        }
        XCTAssertGreaterThan(unknown, 0, "208 training rows cannot hold every test value")
        XCTAssertTrue(data.train.labels.allSatisfy { $0 == 0 || $0 == 1 })
        let limited = try CensusIncome.load(directory: Self.folder, maxTrainRows: 300, maxTestRows: 10)
        XCTAssertEqual(limited.train.count, 300)
        XCTAssertEqual(limited.test.count, 10)
        XCTAssertEqual(Array(limited.train.dense.prefix(300 * 11)), Array(data.train.dense.prefix(300 * 11)))
    }

    func testFolderProblemsNameTheFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pq-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for sub in ["train", "test"] { try FileManager.default.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true) }
        XCTAssertThrowsError(try CensusIncome.load(directory: dir)) { XCTAssertTrue("\($0)".contains("no part-*.parquet"), "\($0)") }
        // A column of the wrong type for its role: the fixture table's file as a training part.
        try FileManager.default.copyItem(atPath: (ParquetReaderTests.fixtures as NSString).appendingPathComponent("plain_v1_none.parquet"),
                                         toPath: dir + "/train/part-00000.parquet")
        try FileManager.default.copyItem(atPath: (ParquetReaderTests.fixtures as NSString).appendingPathComponent("plain_v1_none.parquet"),
                                         toPath: dir + "/test/part-00000.parquet")
        XCTAssertThrowsError(try CensusIncome.load(directory: dir)) {
            XCTAssertTrue("\($0)".hasPrefix(dir + "/train/part-00000.parquet field age: no such column"), "\($0)")
        }
        XCTAssertThrowsError(try CensusIncome.load(directory: Self.folder, tasks: .educationMarital)) {
            XCTAssertTrue("\($0)".contains("income and marital"), "\($0)")
        }
    }

    func testSharedSampleMatchesItsReadme() throws {
        try XCTSkipIf(CensusParquet.files(in: Self.shared) == nil, "no Census Parquet at \(Self.shared)")
        let data = try CensusIncome.load(directory: Self.shared)
        XCTAssertEqual(data.train.count, 13_334)
        XCTAssertEqual(data.test.count, 6_666)
        // The README's table_size_array is the distinct ids per field of the training split; with
        // capacities that small, no field grows past them.
        let sizes = [9, 51, 47, 17, 3, 24, 15, 5, 10, 2, 3, 6, 8, 6, 6, 51, 34, 8, 10, 9, 10, 3, 4, 5, 43, 43, 43, 5, 3]
        let exact = try CensusIncome.load(directory: Self.shared, tableSizes: sizes)
        XCTAssertEqual(exact.warnings, [])
        XCTAssertEqual(exact.encoder.schema.fieldRows, sizes.map { $0 + 1 })
        XCTAssertTrue(data.train.dense.allSatisfy { (0 ... 1).contains($0) })
    }
}
