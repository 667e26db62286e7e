import XCTest
import Foundation
@testable import Datasets

/// Reading Parquet row group by row group: OneFlow's Census folder opened for streaming
/// (`CensusParquet.openStream`) decodes the rows `CensusParquet.load` decodes, and the row-group
/// interface (`ParquetFile.fields`, `rowGroup(_:columns:)`) reads any file's columns by name, with
/// their null masks and list offsets.
final class ParquetStreamTests: XCTestCase {
    /// 3 training files of 3 row groups of 40 rows, a test file of 60 rows (make_parquet_fixtures.py).
    static let streamFolder = (ParquetReaderTests.fixtures as NSString).appendingPathComponent("stream")

    func assertSameRows(_ a: TabularData, _ b: TabularData, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        XCTAssertEqual(a.dense, b.dense, what, file: file, line: line)
        XCTAssertEqual(a.ids, b.ids, what, file: file, line: line)
        XCTAssertEqual(a.labels, b.labels, what, file: file, line: line)
        XCTAssertEqual(a.keys, b.keys, what, file: file, line: line)
    }

    func testStreamDecodesTheRowsLoadDecodes() throws {
        for folder in [Self.streamFolder, CensusParquetTests.folder] {
            for (keys, limits) in [(false, (Int?.none, Int?.none)), (true, (Int?.none, Int?.none)), (false, (Int?(100), Int?(50)))] {
                let what = "\(folder) keys \(keys) limits \(limits)"
                let sizes = [3, 5, 4, 3, 2, 3, 3, 2, 3, 2, 2, 2, 3, 2, 2, 5, 4, 3, 3, 3, 3, 2, 2, 2, 4, 4, 4, 2, 2]  // small: fields grow
                let stream = try CensusParquet.openStream(directory: folder, tableSizes: sizes, maxTrainRows: limits.0, maxTestRows: limits.1, keepKeys: keys)
                let loaded = try CensusParquet.load(directory: folder, tableSizes: sizes, maxTrainRows: limits.0, maxTestRows: limits.1, keepKeys: keys)
                XCTAssertEqual(stream.encoder.schema, loaded.encoder.schema, what)
                XCTAssertEqual(stream.warnings, loaded.warnings, what)
                XCTAssertFalse(stream.warnings.isEmpty, "capacities this small make fields grow")
                let train = TabularData.concatenating(try stream.train.map(stream.read))!
                let test = TabularData.concatenating(try stream.test.map(stream.read))!
                assertSameRows(train, loaded.train, what)
                assertSameRows(test, loaded.test, what)
                XCTAssertEqual(stream.trainRows, loaded.train.count, what)
                XCTAssertEqual(stream.testRows, loaded.test.count, what)
            }
        }
        let stream = try CensusParquet.openStream(directory: Self.streamFolder, maxTrainRows: 100)
        // 100 rows: two whole row groups of 40 and 20 rows of the third, all in the first file.
        XCTAssertEqual(stream.train.map(\.rows), [40, 40, 20])
        XCTAssertEqual(stream.train.map(\.rowGroup), [0, 1, 2])
        XCTAssertEqual(Set(stream.train.map(\.path)).count, 1)
        XCTAssertEqual(try CensusParquet.openStream(directory: Self.streamFolder).train.count, 9)
        let counts = try XCTUnwrap(CensusParquet.rowCounts(directory: Self.streamFolder))
        XCTAssertEqual(counts.train, 360)
        XCTAssertEqual(counts.test, 60)
    }

    func testOpeningChecksEveryFooterButNotTheDenseColumns() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pqs-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: Self.streamFolder, toPath: dir)
        // A test file whose columns are not Census's is refused when the folder is opened.
        let test = dir + "/test/part-00001-other.parquet"
        try FileManager.default.copyItem(atPath: (ParquetReaderTests.fixtures as NSString).appendingPathComponent("plain_v1_none.parquet"), toPath: test)
        XCTAssertThrowsError(try CensusParquet.openStream(directory: dir)) {
            XCTAssertEqual("\($0)", test + " field age: no such column; OneFlow's Census Parquet has 11 dense, 29 sparse and the 2 label columns")
        }
        try FileManager.default.removeItem(atPath: test)
        // A corrupt dense column chunk: opening reads only the ids, so the row group's read finds it.
        let path = dir + "/train/part-00001-stream-c000.snappy.parquet"
        try Self.corrupt(column: "age", rowGroup: 1, of: path)
        let stream = try CensusParquet.openStream(directory: dir)
        let bad = try XCTUnwrap(stream.train.firstIndex { $0.path == path && $0.rowGroup == 1 })
        for (i, ref) in stream.train.enumerated() where i != bad { XCTAssertEqual(try stream.read(ref).count, 40) }
        XCTAssertThrowsError(try stream.read(stream.train[bad])) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix(path + " field age: row group 1: "), text)
        }
    }

    /// Overwrites column `name`'s chunk in row group `g` of the file at `path` with zeros.
    static func corrupt(column name: String, rowGroup g: Int, of path: String) throws {
        let range = try ParquetFile(path: path).byteRange(column: name, rowGroup: g)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        bytes.replaceSubrange(range, with: [UInt8](repeating: 0, count: range.count))
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    func testRowGroupInterfaceReadsColumnsByNameWithNullsAndListOffsets() throws {
        let json = try Data(contentsOf: URL(fileURLWithPath: (ParquetReaderTests.fixtures as NSString).appendingPathComponent("expected.json")))
        let want = try XCTUnwrap(JSONSerialization.jsonObject(with: json) as? [String: [Any]])
        for variant in ["dict_v1_snappy", "plain_v2_none", "delta_v2_snappy"] {
            let file = try ParquetFile(path: (ParquetReaderTests.fixtures as NSString).appendingPathComponent(variant + ".parquet"))
            XCTAssertEqual(file.fields.map(\.name), ["b", "i32", "i64", "f", "d", "s", "li", "ls"])
            XCTAssertEqual(file.fields.map(\.physicalType), ["BOOLEAN", "INT32", "INT64", "FLOAT", "DOUBLE", "BYTE_ARRAY", "INT64", "BYTE_ARRAY"])
            XCTAssertEqual(file.fields.map(\.isList), [false, false, false, false, false, false, true, true])
            XCTAssertEqual(file.fields.map(\.isOptional), [true, false, true, false, true, true, true, true])
            XCTAssertTrue(file.fields.allSatisfy { $0.unsupported == nil })
            var got: [String: [String]] = [:]
            var row = 0
            for g in 0 ..< file.rowGroupCount {
                let group = try file.rowGroup(g, columns: ["s", "li", "b", "i64", "d", "ls"])
                XCTAssertEqual(group.columns.map(\.name), ["s", "li", "b", "i64", "d", "ls"], "in the order asked for")
                XCTAssertNil(group["i32"])
                XCTAssertEqual(group.rowCount, file.rowCount(rowGroup: g))
                for column in group.columns {
                    XCTAssertEqual(column.rowCount, group.rowCount, column.name)
                    for r in 0 ..< group.rowCount {
                        got[column.name, default: []].append(column.isNull(r) ? "null" : Self.text(column, row: r))
                    }
                }
                row += group.rowCount
            }
            XCTAssertEqual(row, 50)
            for name in ["b", "i64", "d", "s", "li", "ls"] {
                XCTAssertEqual(got[name]!, want[name]!.map { Self.text($0, column: name) }, "\(variant) column \(name)")
            }
        }
        let file = try ParquetFile(path: (ParquetReaderTests.fixtures as NSString).appendingPathComponent("plain_v1_none.parquet"))
        XCTAssertThrowsError(try file.rowGroup(0, columns: ["nope"])) { XCTAssertTrue("\($0)".hasSuffix("plain_v1_none.parquet field nope: no such column"), "\($0)") }
        XCTAssertThrowsError(try file.rowGroup(3)) { XCTAssertTrue("\($0)".hasSuffix("no row group 3 (the file has 3)"), "\($0)") }
        let all = try file.rowGroup(2)
        XCTAssertEqual(all.columns.count, 8)
        XCTAssertEqual(all.index, 2)
        let refused = try ParquetFile(path: (ParquetReaderTests.fixtures as NSString).appendingPathComponent("refused/struct.parquet"))
        XCTAssertEqual(refused.fields.map(\.physicalType), ["group"])
        XCTAssertNotNil(refused.fields[0].unsupported)
    }

    /// A value of row `r` as text the JSON's can be compared with (a list: its elements, nulls dropped).
    static func text(_ column: ParquetColumnValues, row r: Int) -> String {
        func item(_ i: Int) -> String {
            switch column.values {
            case .boolean(let v): "\(v[i])"
            case .int32(let v): "\(v[i])"
            case .int64(let v): "\(v[i])"
            case .float(let v): "\(Double(v[i]))"
            case .double(let v): "\(v[i])"
            case .byteArray(let v): v.string(i)
            }
        }
        guard let offsets = column.offsets else { return item(r) }
        return "[" + (offsets[r] ..< offsets[r + 1]).map(item).joined(separator: ",") + "]"
    }

    /// A JSON value of column `name` of expected.json as `text(_:row:)` writes it.
    static func text(_ json: Any, column name: String) -> String {
        if json is NSNull { return "null" }
        if let list = json as? [Any] {
            return "[" + list.filter { !($0 is NSNull) }.map { text($0, column: name == "li" ? "i64" : "s") }.joined(separator: ",") + "]"
        }
        switch name {
        case "b": return "\((json as! NSNumber).boolValue)"
        case "i64", "i32": return "\((json as! NSNumber).int64Value)"
        case "f", "d": return "\((json as! NSNumber).doubleValue)"
        default: return "\(json)"
        }
    }
}
