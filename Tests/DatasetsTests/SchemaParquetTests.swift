import XCTest
import Foundation
@testable import Datasets

/// `--schema` on Parquet: a table written both as Parquet (by pyarrow) and as the CSV text of the
/// same values (Scripts/make_schema_parquet_fixtures.py) gives identical rows through the two
/// readers, fitted, in memory and streamed; unfit or missing columns are refused naming the file,
/// the column and the role; `--infer_schema` reads a Parquet file's own types.
final class SchemaParquetTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/schema-parquet").path
    static func fixture(_ name: String) -> String { (fixtures as NSString).appendingPathComponent(name) }
    static var schema: DataSchema { get throws { try DataSchema(contentsOf: fixture("schema.json")) } }

    /// Bit-for-bit equality (NaN labels included).
    func assertIdentical(_ a: TabularData, _ b: TabularData, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        XCTAssertEqual(a.dense.map(\.bitPattern), b.dense.map(\.bitPattern), what + ": dense", file: file, line: line)
        XCTAssertEqual(a.ids, b.ids, what + ": ids", file: file, line: line)
        XCTAssertEqual(a.bagOffsets, b.bagOffsets, what + ": bags", file: file, line: line)
        XCTAssertEqual(a.keys, b.keys, what + ": keys", file: file, line: line)
        XCTAssertEqual(a.labels.map(\.bitPattern), b.labels.map(\.bitPattern), what + ": labels", file: file, line: line)
        XCTAssertEqual(a.taskNames, b.taskNames, what, file: file, line: line)
    }

    func csvRows(_ reader: SchemaReader, _ name: String) throws -> TabularData {
        var parts: [TabularData] = []
        try reader.read(.file(Self.fixture(name)), chunkRows: 7) { parts.append($0); return true }
        return TabularData.concatenating(parts)!
    }

    func parquetRows(_ reader: SchemaParquetReader, _ name: String, chunkRows: Int = 5) throws -> TabularData {
        var parts: [TabularData] = []
        try reader.read(paths: [Self.fixture(name)], chunkRows: chunkRows) { parts.append($0); return true }
        XCTAssertTrue(parts.allSatisfy { $0.count <= chunkRows && $0.count > 0 })
        return TabularData.concatenating(parts)!
    }

    func testParquetAndItsCSVTwinGiveIdenticalRows() throws {
        let schema = try Self.schema
        for keys in [false, true] {
            let csv = try SchemaScan(schema: schema, paths: [Self.fixture("train.csv")], keepRows: true, keepKeys: keys)
            let parquet = try SchemaParquetScan(schema: schema, paths: [Self.fixture("train.parquet")], keepRows: true, keepKeys: keys)
            XCTAssertEqual(parquet.schema, csv.schema, "the same statistics are fitted")
            XCTAssertTrue(parquet.schema.isFitted)
            XCTAssertEqual(parquet.rows, 64)
            XCTAssertEqual(parquet.rowGroups.map(\.rows), [16, 16, 16, 16])
            let a = try XCTUnwrap(csv.data), b = try XCTUnwrap(parquet.data)
            assertIdentical(a, b, "in memory, keys \(keys)")
            // The rows exercise what they should: missing labels, bags of several and of no ids.
            XCTAssertTrue(b.labels.contains { $0.isNaN })
            XCTAssertNotNil(b.bagOffsets)
            let bagSizes = zip(b.bagOffsets!.dropFirst(), b.bagOffsets!).map { $0 - $1 }
            XCTAssertTrue(bagSizes.contains(0) && bagSizes.contains { $0 > 1 })
            // Streamed: the fitted schema applied row group by row group, as the CSV reader applies it.
            let fitted = parquet.schema
            let streamed = TabularData.concatenating(try parquet.rowGroups.map { ref in
                let reader = SchemaParquetReader(schema: fitted, keepKeys: keys)
                let file = try ParquetFile(path: ref.path)
                return try reader.read(file, rowGroup: ref.rowGroup, rows: 0 ..< ref.rows, binding: try reader.bind(file))
            })!
            assertIdentical(try csvRows(SchemaReader(schema: fitted, keepKeys: keys), "train.csv"), streamed, "streamed, keys \(keys)")
            // The test split (plain v2 pages, gzip, one row group) in chunks of 5 rows.
            assertIdentical(try csvRows(SchemaReader(schema: fitted, keepKeys: keys), "test.csv"),
                            try parquetRows(SchemaParquetReader(schema: fitted, keepKeys: keys), "test.parquet"), "test, keys \(keys)")
        }
    }

    /// `"required"` labels: the missing labels of the fixture stop both readers.
    func testARequiredTaskRefusesAMissingLabelInBothReaders() throws {
        var schema = try Self.schema
        for t in schema.tasks.indices { schema.tasks[t].required = true }
        let fitted = try SchemaParquetScan(schema: try Self.schema, paths: [Self.fixture("train.parquet")], keepRows: false).schema
        var required = fitted
        for t in required.tasks.indices { required.tasks[t].required = true }
        XCTAssertThrowsError(try csvRows(SchemaReader(schema: required), "train.csv")) { error in
            XCTAssertTrue("\(error)".contains("which is required"), "\(error)")
        }
        XCTAssertThrowsError(try parquetRows(SchemaParquetReader(schema: required), "train.parquet")) { error in
            XCTAssertTrue("\(error)".contains("which is required"), "\(error)")
        }
        XCTAssertThrowsError(try SchemaParquetScan(schema: schema, paths: [Self.fixture("train.parquet")], keepRows: true))
    }

    /// A defect found reviewing the label rules: the Parquet reader ignored a task's `negative`
    /// list and read every unlisted label as 0, where the CSV reader stops at it. Both readers now
    /// share the rule and the message.
    func testANegativeListRefusesOtherLabelsInBothReaders() throws {
        let fitted = try SchemaParquetScan(schema: try Self.schema, paths: [Self.fixture("train.parquet")], keepRows: false).schema
        var strict = fitted
        let gold = try XCTUnwrap(strict.tasks.firstIndex { $0.name == "gold" })
        strict.tasks[gold].negative = ["silver"]
        var messages: [String] = []
        XCTAssertThrowsError(try csvRows(SchemaReader(schema: strict), "train.csv")) { messages.append("\($0)") }
        XCTAssertThrowsError(try parquetRows(SchemaParquetReader(schema: strict), "train.parquet")) { messages.append("\($0)") }
        XCTAssertEqual(messages.count, 2)
        for message in messages {
            XCTAssertTrue(message.contains("unknown label \"bronze\" of binary task \"gold\"; expected one of \"gold\", \"silver\""), message)
        }
        // Listing every value reads the same rows in both.
        strict.tasks[gold].negative = ["silver", "bronze"]
        assertIdentical(try csvRows(SchemaReader(schema: strict), "train.csv"), try parquetRows(SchemaParquetReader(schema: strict), "train.parquet"),
                        "negative lists every other value")
    }

    func testARowLimitCutsTheRowGroups() throws {
        let scan = try SchemaParquetScan(schema: try Self.schema, paths: [Self.fixture("train.parquet"), Self.fixture("test.parquet")],
                                         keepRows: true, maxRows: 70)
        XCTAssertEqual(scan.rowGroups.map(\.rows), [16, 16, 16, 16, 6])
        XCTAssertEqual(scan.data?.count, 70)
        var rows = 0
        try SchemaParquetReader(schema: scan.schema).read(paths: [Self.fixture("train.parquet")], chunkRows: 100, maxRows: 20) { rows += $0.count; return true }
        XCTAssertEqual(rows, 20)
    }

    func testPredictionInputNeedsNoLabelColumns() throws {
        var schema = try Self.schema
        schema.tasks[0].column = "not_in_the_file"
        let fitted = try SchemaParquetScan(schema: try Self.schema, paths: [Self.fixture("train.parquet")], keepRows: false).schema
        var scoring = fitted
        scoring.tasks = schema.tasks
        XCTAssertThrowsError(try parquetRows(SchemaParquetReader(schema: scoring), "test.parquet")) {
            XCTAssertTrue("\($0)".contains("field not_in_the_file: task \"click\" (binary) reads this column, which the file does not have"), "\($0)")
        }
        let rows = try parquetRows(SchemaParquetReader(schema: scoring, labelsRequired: false), "test.parquet")
        let labelled = try parquetRows(SchemaParquetReader(schema: fitted), "test.parquet")
        XCTAssertEqual(rows.count, 24)
        XCTAssertTrue((0 ..< rows.count).allSatisfy { rows.labels[$0 * 4].isNaN })
        XCTAssertEqual(rows.ids, labelled.ids)
        XCTAssertEqual(rows.dense, labelled.dense)
    }

    /// Each column that cannot serve its role: one error naming the file, the column and the role.
    func testColumnsThatCannotServeTheirRoleAreRefused() throws {
        let file = Self.fixture("train.parquet")
        let base = try Self.schema
        func refusal(_ change: (inout DataSchema) -> Void) -> String {
            var schema = base
            change(&schema)
            do {
                _ = try SchemaParquetScan(schema: schema, paths: [file], keepRows: true)
                return "no error"
            } catch { return "\(error)" }
        }
        let cases: [(String, (inout DataSchema) -> Void)] = [
            ("field nope: feature \"age\" (dense) reads this column, which the file does not have (its columns: \"age\", \"price\"",
             { $0.features[0].column = "nope" }),
            ("field city: feature \"age\" (dense) cannot read this column: it is BYTE_ARRAY (strings); a dense feature needs numbers",
             { $0.features[0].column = "city" }),
            ("field meta: feature \"age\" (dense) cannot read this column: nested structs (groups) are not supported",
             { $0.features[0].column = "meta" }),
            ("field tags: feature \"city\" (sparse) cannot read this column: it is a list; a sparse feature reads one value per row",
             { $0.features[4].column = "tags" }),
            ("field price: feature \"city\" (sparse) cannot read this column: it is DOUBLE, whose values have no exact text to hash",
             { $0.features[4].column = "price" }),
            ("field clicks: feature \"tags\" (tags) cannot read this column: it is INT64; a tags feature reads a LIST column",
             { $0.features[7].column = "clicks" }),
            ("field hours: task \"gold\" (binary) cannot read this column: \"positive\" lists the strings that count as 1, but the column is DOUBLE",
             { $0.tasks[3].column = "hours" }),
            ("field segment: task \"hours\" (regression) cannot read this column: it is BYTE_ARRAY (strings); a regression label is a number",
             { $0.tasks[2].column = "segment" }),
            ("field cats: task \"click\" (binary) cannot read this column: it is a list",
             { $0.tasks[0].column = "cats" }),
        ]
        for (expected, change) in cases {
            let message = refusal(change)
            XCTAssertTrue(message.hasPrefix(file + " field "), message)
            XCTAssertTrue(message.contains(expected), "expected \(expected)\ngot \(message)")
        }
    }

    func testBadValuesNameTheRowGroupAndRow() throws {
        let file = Self.fixture("train.parquet")
        var schema = try Self.schema
        schema.tasks[0].column = "clicks"  // big integers: not 0 or 1
        XCTAssertThrowsError(try SchemaParquetScan(schema: schema, paths: [file], keepRows: true)) {
            XCTAssertTrue("\($0)".hasPrefix(file + " field clicks: row group 0, row 1: label 574700343118.0 of binary task \"click\" is not 0 or 1"), "\($0)")
        }
        schema = try Self.schema
        schema.features[2].transform = .log1p  // score reaches -2
        XCTAssertThrowsError(try SchemaParquetScan(schema: schema, paths: [file], keepRows: true)) {
            XCTAssertTrue("\($0)".contains(" field score: row group 0, row "), "\($0)")
            XCTAssertTrue("\($0)".contains("is not above -1, so log1p is undefined"), "\($0)")
        }
        schema = try Self.schema
        schema.tasks[0].column = "city"  // strings that are not 0/1/true/false
        XCTAssertThrowsError(try SchemaParquetScan(schema: schema, paths: [file], keepRows: true)) {
            XCTAssertTrue("\($0)".contains(" field city: row group 0, row 1: label \"Zürich\" of binary task \"click\" is not 0, 1, true or false"), "\($0)")
        }
    }

    func testIntegersAreHashedAsTheirDecimalText() {
        var buffer = [UInt8](repeating: 0, count: 24)
        for value: Int64 in [0, 7, -1, 10, -42, 1 << 40, .max, .min] {
            let range = SchemaParquetEncoder.decimal(value, into: &buffer)
            XCTAssertEqual(String(decoding: buffer[range], as: UTF8.self), String(value))
            XCTAssertEqual(FieldHash.key(field: 3, buffer, range), FieldHash.key(field: 3, value: String(value)))
        }
    }

    func testInferenceReadsTheFileTypes() throws {
        let path = Self.fixture("train.parquet")
        let schema = try SchemaInference.infer(path: path)
        XCTAssertEqual(schema, try SchemaInference.inferParquet(path: path))
        let kinds = Dictionary(uniqueKeysWithValues: schema.features.map { ($0.name, $0.kind) })
        XCTAssertEqual(kinds, ["age": .dense, "price": .dense, "score": .dense, "clicks": .sparse, "city": .sparse, "user_id": .sparse,
                               "flag": .dense, "tags": .tags, "cats": .tags, "genres": .tags, "hours": .dense, "segment": .sparse, "note": .sparse],
                       "meta, a struct, is left out; big integers are ids")
        XCTAssertEqual(schema.features.first { $0.name == "genres" }?.separator, UInt8(ascii: "|"))
        XCTAssertEqual(schema.features.first { $0.name == "flag" }?.transform, SchemaFeature.Transform.none)
        XCTAssertEqual(schema.features.first { $0.name == "age" }?.transform, .standardize)
        XCTAssertEqual(schema.tasks.map(\.name), ["click", "buy"])
        XCTAssertEqual(schema.tasks.map(\.type), [.binary, .binary])
        // The proposal reads back and trains on the file it came from.
        let again = try DataSchema(json: Data(schema.json.utf8), file: "inferred")
        XCTAssertEqual(again, schema)
        XCTAssertEqual(try SchemaParquetScan(schema: again, paths: [path], keepRows: false).rows, 64)
    }

    func testDataDirectoryFindsParquetAndMixedListsAreRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pqschema-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/train", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.fixture("train.parquet"), toPath: dir + "/train/part-00000-x.snappy.parquet")
        FileManager.default.createFile(atPath: dir + "/train/_SUCCESS", contents: Data())
        FileManager.default.createFile(atPath: dir + "/train/.part-00000-x.snappy.parquet.crc", contents: Data([1]))
        try FileManager.default.copyItem(atPath: Self.fixture("test.parquet"), toPath: dir + "/test.parquet")
        XCTAssertEqual(try SchemaFiles.split("train", in: dir), [dir + "/train/part-00000-x.snappy.parquet"])
        XCTAssertEqual(try SchemaFiles.split("test", in: dir), [dir + "/test.parquet"])
        // A Parquet file is known by its magic whatever its name.
        try FileManager.default.copyItem(atPath: Self.fixture("test.parquet"), toPath: dir + "/scores.bin")
        XCTAssertTrue(SchemaFiles.isParquet(dir + "/scores.bin"))
        XCTAssertFalse(SchemaFiles.isParquet(Self.fixture("test.csv")))
        XCTAssertThrowsError(try SchemaFiles.areParquet([dir + "/test.parquet", Self.fixture("test.csv")], flag: "--train_files")) {
            XCTAssertTrue("\($0)".hasPrefix("--train_files: mixes Parquet"), "\($0)")
        }
    }
}
