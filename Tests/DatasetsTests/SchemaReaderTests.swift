import XCTest
import Foundation
@testable import Datasets

/// The schema reader on small files written here: every feature kind and transform, the quoting
/// cases of RFC 4180, missing labels, every bad-input case, and schema inference.
final class SchemaReaderTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("schema-reader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    func schema(_ json: String) throws -> DataSchema {
        try DataSchema(json: Data(json.utf8), file: "schema.json")
    }

    func readAll(_ schema: DataSchema, _ path: String, labelsRequired: Bool = true, keepKeys: Bool = false) throws -> TabularData {
        var parts: [TabularData] = []
        try SchemaReader(schema: schema, keepKeys: keepKeys, labelsRequired: labelsRequired).read(.file(path), chunkRows: 3) { parts.append($0); return true }
        return TabularData.concatenating(parts)!
    }

    /// The error a read of `text` through `schemaJSON` stops with.
    func readError(_ schemaJSON: String, _ text: String, file: String = "bad.csv") throws -> DatasetError {
        let path = try write(file, text)
        do {
            _ = try readAll(try schema(schemaJSON), path)
        } catch let error as DatasetError {
            return error
        }
        XCTFail("no error reading \(text)")
        return DatasetError(file: "", "")
    }

    static let basic = """
        {"features": [{"name": "age", "kind": "dense"}, {"name": "city", "kind": "sparse", "buckets": 8}],
         "tasks": [{"name": "click"}]}
        """

    func testEveryKindByHeaderNameInAnyColumnOrder() throws {
        let s = try schema("""
            {"delimiter": ";", "features": [
              {"name": "age", "kind": "dense"},
              {"name": "city", "kind": "sparse", "buckets": 1000},
              {"name": "tags", "kind": "tags", "column": "tag_list", "separator": "|", "buckets": 50}],
             "tasks": [{"name": "click", "type": "binary"}, {"name": "hours", "type": "regression"}]}
            """)
        let path = try write("a.csv", "hours;tag_list;click;city;age\n7.5;x|y;1;paris;30\n2;;false;;41\n3;y||z;TRUE;rome;\n")
        let data = try readAll(s, path, keepKeys: true)
        XCTAssertEqual(data.count, 3)
        XCTAssertEqual(data.dense, [30, 41, 0])
        XCTAssertEqual(data.labels, [1, 7.5, 0, 2, 1, 3])
        XCTAssertEqual(data.taskNames, ["click", "hours"])
        // city, then tags; each a bag; the empty tag list an empty bag, the empty city its own value.
        XCTAssertEqual(data.bagOffsets, [0, 1, 3, 4, 4, 5, 7])
        func row(_ field: Int, _ value: String, buckets: UInt64, offset: Int32) -> Int32 {
            offset + Int32(FieldHash.key(field: field, value: value) % buckets)
        }
        XCTAssertEqual(Array(data.ids(row: 0, field: 0)), [row(0, "paris", buckets: 1000, offset: 0)])
        XCTAssertEqual(Array(data.ids(row: 0, field: 1)), [row(1, "x", buckets: 50, offset: 1000), row(1, "y", buckets: 50, offset: 1000)])
        XCTAssertEqual(Array(data.ids(row: 1, field: 0)), [row(0, "", buckets: 1000, offset: 0)])
        XCTAssertEqual(Array(data.ids(row: 2, field: 1)), [row(1, "y", buckets: 50, offset: 1000), row(1, "z", buckets: 50, offset: 1000)])
        XCTAssertEqual(data.keys?.first, FieldHash.key(field: 0, value: "paris"))
        XCTAssertEqual(s.featureSchema.fieldRows, [1000, 50])
    }

    func testSparseOnlySchemaHasOneIdPerField() throws {
        let data = try readAll(try schema(Self.basic), try write("b.csv", "age,city,click\n1,a,0\n2,b,1\n"))
        XCTAssertNil(data.bagOffsets)
        XCTAssertEqual(data.ids.count, 2)
        XCTAssertEqual(data.ids[0], Int32(FieldHash.key(field: 0, value: "a") % 8))
    }

    func testNoHeaderReadsByIndexAndTabs() throws {
        let s = try schema("""
            {"delimiter": "\\t", "header": false,
             "features": [{"name": "x", "kind": "dense", "index": 2}, {"name": "c", "kind": "sparse", "index": 0, "buckets": 4}],
             "tasks": [{"name": "y", "index": 1}]}
            """)
        let data = try readAll(s, try write("c.tsv", "a\t1\t0.5\nb\t0\t-2\n"))
        XCTAssertEqual(data.dense, [0.5, -2])
        XCTAssertEqual(data.labels, [1, 0])
    }

    func testTransformsFittedOnTheTrainingFileAndDefaults() throws {
        let s = try schema("""
            {"features": [{"name": "a", "kind": "dense", "transform": "standardize"},
                          {"name": "b", "kind": "dense", "transform": "minmax"},
                          {"name": "c", "kind": "dense", "transform": "log1p", "default": 3}],
             "tasks": [{"name": "y"}]}
            """)
        let train = try write("train.csv", "a,b,c,y\n1,10,0,1\n3,20,,0\n5,30,1,1\n")
        let scan = try SchemaScan(schema: s, paths: [train], keepRows: true)
        XCTAssertEqual(scan.rows, 3)
        let a = scan.schema.features[0].statistics!, b = scan.schema.features[1].statistics!
        XCTAssertEqual(a.shift, 3, accuracy: 1e-12)
        XCTAssertEqual(a.scale, (8.0 / 3).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(b.shift, 10)
        XCTAssertEqual(b.scale, 20)
        let kept = scan.data!
        XCTAssertEqual(kept.dense[0], Float(-2 / (8.0 / 3).squareRoot()), accuracy: 1e-6)
        XCTAssertEqual(kept.dense[1], 0)
        XCTAssertEqual(kept.dense[4], 0.5)
        XCTAssertEqual(kept.dense[5], Float(log1p(3.0)), accuracy: 1e-6)
        XCTAssertEqual(kept.dense[8], Float(log1p(1.0)), accuracy: 1e-6)
        // A test file is scaled with the training statistics, not its own.
        let test = try readAll(scan.schema, try write("test.csv", "y,c,b,a\n1,0,40,3\n"))
        XCTAssertEqual(test.dense, [0, 1.5, 0])
        // The fitted schema survives its JSON (what the checkpoint keeps).
        let again = try DataSchema(json: Data(scan.schema.json.utf8), file: "manifest")
        XCTAssertEqual(again, scan.schema)
        XCTAssertTrue(again.isFitted)
        XCTAssertFalse(s.isFitted)
    }

    func testQuotingDelimitersDoubledQuotesLineBreaksAndCRLF() throws {
        let text = "age,city,click\r\n1,\"new, york\",1\r\n2,\"say \"\"hi\"\"\",0\r\n3,\"two\r\nlines\",1\r\n\"4\",plain,\"0\"\r\n5,,1"
        let data = try readAll(try schema(Self.basic), try write("q.csv", text))
        XCTAssertEqual(data.dense, [1, 2, 3, 4, 5])
        XCTAssertEqual(data.labels, [1, 0, 1, 0, 1])
        for (r, value) in ["new, york", "say \"hi\"", "two\r\nlines", "plain", ""].enumerated() {
            XCTAssertEqual(data.ids[r], Int32(FieldHash.key(field: 0, value: value) % 8), value)
        }
        // The record after a quoted line break keeps its true line number in errors.
        let error = try readError(Self.basic, "age,city,click\n1,\"a\nb\",1\nx,c,0\n")
        XCTAssertEqual(error.line, 4)
    }

    func testMissingLabelsAreNaNAndPositiveStrings() throws {
        let s = try schema("""
            {"features": [{"name": "age", "kind": "dense"}],
             "tasks": [{"name": "income", "positive": ["50000+."]}, {"name": "hours", "type": "regression"}]}
            """)
        let data = try readAll(s, try write("m.csv", "age,income,hours\n1,50000+.,\n2,- 50000.,3\n3,,4\n"))
        XCTAssertEqual(data.labels[0], 1)
        XCTAssertTrue(data.labels[1].isNaN)
        XCTAssertEqual(Array(data.labels[2...3]), [0, 3])
        XCTAssertTrue(data.labels[4].isNaN)
    }

    func testPredictionInputMayLackLabelColumns() throws {
        let data = try readAll(try schema(Self.basic), try write("p.csv", "city,age\nx,1\n"), labelsRequired: false)
        XCTAssertTrue(data.labels[0].isNaN)
        XCTAssertThrowsError(try readAll(try schema(Self.basic), try write("p2.csv", "city,age\nx,1\n")))
    }

    func testStreamsLargeInputInChunksWithSlices() throws {
        var text = "age,city,click\n"
        for i in 0 ..< 3000 { text += "\(i),\"c\(i % 7)\",\(i % 2)\n" }
        let path = try write("big.csv", text)
        let scan = try SchemaScan(schema: try schema(Self.basic), paths: [path], keepRows: false, sliceBytes: 4096)
        XCTAssertEqual(scan.rows, 3000)
        XCTAssertNil(scan.data)
        let file = scan.files[0]
        XCTAssertGreaterThan(file.slices.count, 1)
        var ages: [Float] = []
        for slice in file.slices {
            try SchemaReader(schema: scan.schema).read(path: path, slice: slice, layout: file.layout, chunkRows: 500) { ages += $0.dense; return true }
        }
        XCTAssertEqual(ages, (0 ..< 3000).map(Float.init))
    }

    // MARK: bad input: one message naming the file, the line, the column and the value

    func testBadDenseValueNamesFileLineColumnAndValue() throws {
        let e = try readError(Self.basic, "age,city,click\n1,a,0\nold,b,1\n")
        XCTAssertTrue(e.file.hasSuffix("bad.csv"))
        XCTAssertEqual(e.line, 3)
        XCTAssertEqual(e.field, "age (column 1)")
        XCTAssertTrue(e.message.contains("\"old\""), e.message)
    }

    func testBadLabelValue() throws {
        let e = try readError(Self.basic, "age,city,click\n1,a,yes\n")
        XCTAssertEqual(e.line, 2)
        XCTAssertEqual(e.field, "click (column 3)")
        XCTAssertTrue(e.message.contains("\"yes\"") && e.message.contains("positive"), e.message)
        let r = try readError(#"{"features": [{"name": "age", "kind": "dense"}], "tasks": [{"name": "h", "type": "regression"}]}"#, "age,h\n1,many\n")
        XCTAssertEqual(r.field, "h (column 2)")
        XCTAssertTrue(r.message.contains("\"many\""), r.message)
    }

    func testWrongFieldCount() throws {
        let e = try readError(Self.basic, "age,city,click\n1,a,0\n2,b\n")
        XCTAssertEqual(e.line, 3)
        XCTAssertTrue(e.message.contains("found 2 fields, expected 3"), e.message)
    }

    func testUnterminatedQuote() throws {
        let e = try readError(Self.basic, "age,city,click\n1,a,0\n2,\"b,1\n3,c,0\n")
        XCTAssertEqual(e.line, 3)
        XCTAssertTrue(e.message.contains("unterminated quote"), e.message)
        let stray = try readError(Self.basic, "age,city,click\n1,a\"b\",0\n")
        XCTAssertEqual(stray.line, 2)
        XCTAssertEqual(stray.field, "city (column 2)")
        XCTAssertTrue(stray.message.contains("quote"), stray.message)
    }

    func testMissingColumn() throws {
        let e = try readError(Self.basic, "age,town,click\n1,a,0\n")
        XCTAssertEqual(e.line, 1)
        XCTAssertEqual(e.field, "city")
        XCTAssertTrue(e.message.contains("\"town\""), e.message)
    }

    /// The error reading `json` as a schema gives, as text ("no error" when it reads).
    func schemaMessage(_ json: String) -> String {
        do { _ = try schema(json) } catch { return "\(error)" }
        return "no error"
    }

    func testSchemaErrors() throws {
        let message = schemaMessage
        XCTAssertTrue(message("{\"features\": [").contains("not valid JSON"))
        XCTAssertTrue(message(#"{"features": [{"name": "a", "kind": "dens"}], "tasks": [{"name": "y"}]}"#)
            .contains("features[0].kind: \"dens\" is not a feature kind"))
        XCTAssertTrue(message(#"{"features": [{"name": "a", "kind": "dense", "bucket": 3}], "tasks": [{"name": "y"}]}"#)
            .contains("features[0].bucket: unknown key"))
        XCTAssertTrue(message(#"{"features": [{"name": "a", "kind": "sparse"}], "tasks": [{"name": "y"}]}"#).contains("needs \"buckets\""))
        XCTAssertTrue(message(#"{"features": [{"name": "a", "kind": "dense"}], "tasks": [{"name": "y", "type": "ranking"}]}"#)
            .contains("tasks[0].type"))
        XCTAssertTrue(message(#"{"features": [{"name": "a", "kind": "dense"}], "tasks": [{"name": "y", "condition": "ctr"}]}"#)
            .contains("tasks[0].condition"))
        XCTAssertTrue(message(#"{"delimiter": ",,", "features": [{"name": "a", "kind": "dense"}], "tasks": [{"name": "y"}]}"#)
            .contains("delimiter"))
        XCTAssertTrue(message(#"{"features": [{"name": "a", "kind": "dense", "transform": "log"}], "tasks": [{"name": "y"}]}"#)
            .contains("features[0].transform"))
        XCTAssertTrue(message(#"{"header": false, "features": [{"name": "a", "kind": "dense"}], "tasks": [{"name": "y", "index": 0}]}"#)
            .contains("needs an \"index\""))
        let s = try schema(#"{"features": [{"name": "a", "kind": "dense"}], "tasks": [{"name": "ctr"}, {"name": "cvr", "condition": "ctr", "weight": 0.5}]}"#)
        XCTAssertEqual(s.tasks[1].condition, "ctr")
        XCTAssertEqual(s.tasks[1].weight, 0.5)
        XCTAssertEqual(s.tasks[0].weight, 1)
    }

    func testInference() throws {
        var text = "user_id,age,city,tags,price,is_click,hours\n"
        for i in 0 ..< 400 {
            text += "u\(i),\(20 + i % 50),\(["paris", "rome", "oslo"][i % 3]),\(i % 4 == 0 ? "" : "a|b"),\(Double(i) * 1.5),\(i % 2),\(i % 9)\n"
        }
        let path = try write("infer.csv", text)
        let s = try SchemaInference.infer(path: path)
        XCTAssertTrue(s.header)
        XCTAssertEqual(s.delimiter, UInt8(ascii: ","))
        let kinds = Dictionary(uniqueKeysWithValues: s.features.map { ($0.name, $0.kind) })
        XCTAssertEqual(kinds, ["user_id": .sparse, "age": .dense, "city": .sparse, "tags": .tags, "price": .dense, "hours": .dense])
        XCTAssertEqual(s.features.first { $0.name == "user_id" }?.buckets, 1 << 20)
        XCTAssertEqual(s.features.first { $0.name == "city" }?.buckets, 16)
        XCTAssertEqual(s.tasks.map(\.name), ["is_click"])
        XCTAssertEqual(s.tasks[0].type, .binary)
        // What it prints reads back as a schema, and that schema reads the file.
        let again = try DataSchema(json: Data(s.json.utf8), file: "inferred")
        XCTAssertEqual(again, s)
        XCTAssertEqual(try SchemaScan(schema: again, paths: [path], keepRows: true).rows, 400)
    }

    func testFileListsAndDataDirectories() throws {
        _ = try write("train.csv", "x")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("test"), withIntermediateDirectories: true)
        _ = try write("test/part-1.csv.gz", "x")
        _ = try write("test/part-0.tsv", "x")
        _ = try write("test/notes.md", "x")
        XCTAssertEqual(try SchemaFiles.split("train", in: directory.path), [directory.appendingPathComponent("train.csv").path])
        XCTAssertEqual(try SchemaFiles.split("test", in: directory.path).map { ($0 as NSString).lastPathComponent }, ["part-0.tsv", "part-1.csv.gz"])
        XCTAssertEqual(try SchemaFiles.split("valid", in: directory.path), [])
        let listed = try SchemaFiles.expand("\(directory.path)/test/part-*, \(directory.path)/train.csv", flag: "--train_files")
        XCTAssertEqual(listed.map { ($0 as NSString).lastPathComponent }, ["part-0.tsv", "part-1.csv.gz", "train.csv"])
        XCTAssertThrowsError(try SchemaFiles.expand("\(directory.path)/nothing*.csv", flag: "--train_files"))
        XCTAssertThrowsError(try SchemaFiles.expand("\(directory.path)/missing.csv", flag: "--train_files"))
    }
}

extension SchemaReaderTests {
    /// A hostile value or header name reaches a message escaped (`MessageText`), never as raw
    /// terminal controls: the schema reader printed them raw before Census was read through it.
    func testMessagesEscapeControlBytesInValuesAndHeaderNames() throws {
        let schema = DataSchema(features: [SchemaFeature(name: "x", kind: .dense)], tasks: [SchemaTask(name: "y")])
        let path = NSTemporaryDirectory() + "schema-hostile-\(UUID().uuidString).csv"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("x,y,z\u{1B}[2J\n6\u{0}\u{1B}[2J,1,0\n".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try SchemaReader(schema: schema).read(.file(path)) { _ in true }) { error in
            let text = "\(error)"
            XCTAssertFalse(text.unicodeScalars.contains { $0.value < 0x20 }, text.debugDescription)
            XCTAssertTrue(text.contains("\\x00") && text.contains("\\x1B"), text)
        }
        var missing = DataSchema(features: [SchemaFeature(name: "w", kind: .dense)], tasks: [SchemaTask(name: "y")])
        missing.quote = UInt8(ascii: "\"")
        XCTAssertThrowsError(try SchemaReader(schema: missing).read(.file(path)) { _ in true }) { error in
            let text = "\(error)"
            XCTAssertFalse(text.unicodeScalars.contains { $0.value < 0x20 }, text.debugDescription)
            XCTAssertTrue(text.contains("z\\x1B[2J"), text)
        }
    }
}
