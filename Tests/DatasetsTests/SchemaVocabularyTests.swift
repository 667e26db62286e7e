import XCTest
import Foundation
@testable import Datasets

/// `"vocabulary": "fit"` sparse features and clipped `minmax` (`"clip": true`): ids in first-seen
/// order with a row for unseen values, the table growing past `buckets`, clipping and a constant
/// column, the fitted values through the schema's JSON (what the model keeps), and bad input.
final class SchemaVocabularyTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("schema-vocabulary-\(UUID().uuidString)")
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

    func readAll(_ schema: DataSchema, _ path: String, keepKeys: Bool = false) throws -> TabularData {
        var parts: [TabularData] = []
        try SchemaReader(schema: schema, keepKeys: keepKeys).read(.file(path), chunkRows: 2) { parts.append($0); return true }
        return TabularData.concatenating(parts)!
    }

    static let json = """
        {"features": [{"name": "x", "kind": "dense", "transform": "minmax", "clip": true},
                      {"name": "k", "kind": "dense", "transform": "minmax", "clip": true},
                      {"name": "h", "kind": "sparse", "buckets": 4},
                      {"name": "city", "kind": "sparse", "buckets": 2, "vocabulary": "fit"},
                      {"name": "tag", "kind": "sparse", "buckets": 5, "vocabulary": "fit"}],
         "tasks": [{"name": "y"}]}
        """

    func testFittedIdsUnseenValuesClippingAndTheJSONRoundTrip() throws {
        let schema = try DataSchema(json: Data(Self.json.utf8), file: "schema.json")
        XCTAssertFalse(schema.isFitted)
        let train = try write("train.csv", "x,k,h,city,tag,y\n10,7,a,oslo,t1,1\n20,7,b, paris ,t2,0\n\n30,7,c,rome,t1,1\n15,7,d,oslo,,0\n")
        let scan = try SchemaScan(schema: schema, paths: [train], keepRows: true)
        let fitted = scan.schema
        XCTAssertTrue(fitted.isFitted)
        // First-seen order, values trimmed; city's 3 values outgrow its 2 buckets.
        XCTAssertEqual(fitted.features[3].values, ["oslo", "paris", "rome"])
        XCTAssertEqual(fitted.features[4].values, ["t1", "t2", ""])
        XCTAssertEqual(fitted.featureSchema.fieldRows, [4, 4, 6])
        let h = 0, city = 4, tag = 8
        let data = scan.data!
        XCTAssertNil(data.keys)
        XCTAssertEqual((0 ..< 4).map { data.ids[$0 * 3 + 1] }, [city, city + 1, city + 2, city].map(Int32.init))
        XCTAssertEqual((0 ..< 4).map { data.ids[$0 * 3 + 2] }, [tag, tag + 1, tag, tag + 2].map(Int32.init))
        XCTAssertTrue((0 ..< 4).allSatisfy { (h ..< h + 4).contains(Int(data.ids[$0 * 3])) })
        XCTAssertEqual(data.dense, [0, 0, 0.5, 0, 1, 0, 0.25, 0])
        // The test file: unseen values take their field's last row; values outside the training
        // range clip to [0, 1]; a column constant in training is 0 whatever its value.
        let testPath = try write("test.csv", "y,tag,city,h,k,x\n1,t9,lima,a,9,40\n0,t2,paris,b,5,5\n")
        let test = try readAll(fitted, testPath, keepKeys: true)
        XCTAssertEqual(test.dense, [1, 0, 0, 0])
        XCTAssertEqual(test.ids[1], Int32(city + 3))
        XCTAssertEqual(test.ids[2], Int32(tag + 5))
        XCTAssertEqual(test.ids[4], Int32(city + 1))
        XCTAssertEqual(test.ids[5], Int32(tag + 1))
        // Kept keys are the values' own, unseen ones included.
        XCTAssertEqual(test.keys![1], FieldHash.key(field: 1, Array("lima".utf8), 0 ..< 4))
        XCTAssertEqual(test.ids[0], data.ids[0], "a hashed field keeps its bucket")
        // Saved with the model and read back: the same schema, the same rows.
        let saved = fitted.json
        XCTAssertTrue(saved.contains(#""vocabulary": "fit", "values": ["oslo", "paris", "rome"]"#))
        XCTAssertTrue(saved.contains(#""min": 7, "max": 7, "clip": true"#))
        let reloaded = try DataSchema(json: Data(saved.utf8), file: "manifest")
        XCTAssertEqual(reloaded, fitted)
        XCTAssertEqual(try readAll(reloaded, testPath, keepKeys: true).ids, test.ids)
        // A streamed read of the training file gives the kept rows.
        XCTAssertEqual(try readAll(fitted, train).ids, data.ids)
    }

    /// With a tags field in the schema the rows are bags: the fitted field's id is found through them.
    func testFittedFieldBesideTags() throws {
        let schema = try DataSchema(json: Data(#"""
            {"features": [{"name": "t", "kind": "tags", "buckets": 8},
                          {"name": "city", "kind": "sparse", "buckets": 1, "vocabulary": "fit"}],
             "tasks": [{"name": "y"}]}
            """#.utf8), file: "schema.json")
        let train = try write("bags.csv", "t,city,y\na|b|c,oslo,1\n,rome,0\nd,oslo,1\n")
        let scan = try SchemaScan(schema: schema, paths: [train], keepRows: true)
        XCTAssertEqual(scan.schema.features[1].values, ["oslo", "rome"])
        let data = scan.data!
        let offsets = try XCTUnwrap(data.bagOffsets)
        XCTAssertEqual((0 ..< 3).map { data.ids[Int(offsets[$0 * 2 + 1])] }, [8, 9, 8])
        let test = try readAll(scan.schema, try write("bags-test.csv", "t,city,y\na,lima,1\n"))
        XCTAssertEqual(test.ids.last, 10, "the unseen row")
    }

    /// The Parquet reader does not do either option yet: it says so instead of reading past them.
    func testParquetRefusesBoth() throws {
        var schema = try SchemaParquetTests.schema
        let city = try XCTUnwrap(schema.features.firstIndex { $0.name == "city" })
        schema.features[city].vocabulary = .fit
        let file = try ParquetFile(path: SchemaParquetTests.fixture("train.parquet"))
        XCTAssertThrowsError(try SchemaParquetReader(schema: schema).bind(file)) { error in
            XCTAssertTrue("\(error)".contains("field city: \"vocabulary\": \"fit\" is read from delimited text files only"), "\(error)")
        }
        schema.features[city].vocabulary = .hash
        schema.features[2].clip = true
        XCTAssertThrowsError(try SchemaParquetReader(schema: schema).bind(file)) { error in
            XCTAssertTrue("\(error)".contains("field score: \"clip\" is read from delimited text files only"), "\(error)")
        }
        schema.features[2].clip = false
        schema.features[city].vocabulary = .identity
        XCTAssertThrowsError(try SchemaParquetReader(schema: schema).bind(file)) { error in
            XCTAssertTrue("\(error)".contains("field city: \"vocabulary\": \"identity\" is read from delimited text files only"), "\(error)")
        }
        schema.features[city].vocabulary = .hash
        schema.trim = false
        XCTAssertThrowsError(try SchemaParquetReader(schema: schema).bind(file)) { error in
            XCTAssertTrue("\(error)".contains("field trim: \"trim\": false is read from delimited text files only"), "\(error)")
        }
    }

    func testBadInput() throws {
        func message(_ json: String) -> String {
            do { _ = try DataSchema(json: Data(json.utf8), file: "schema.json") } catch { return "\(error)" }
            return "no error"
        }
        XCTAssertTrue(message(#"{"features": [{"name": "a", "kind": "sparse", "buckets": 2, "vocabulary": "learn"}], "tasks": [{"name": "y"}]}"#)
            .contains("features[0].vocabulary: \"learn\" is not a vocabulary"))
        XCTAssertTrue(message(#"{"features": [{"name": "a", "kind": "tags", "buckets": 2, "vocabulary": "fit"}], "tasks": [{"name": "y"}]}"#)
            .contains("features[0].vocabulary: applies to sparse features"))
        XCTAssertTrue(message(#"{"features": [{"name": "a", "kind": "sparse", "buckets": 2, "values": ["x"]}], "tasks": [{"name": "y"}]}"#)
            .contains("features[0].values: applies to \"vocabulary\": \"fit\" only"))
        XCTAssertTrue(message(#"{"features": [{"name": "a", "kind": "sparse", "buckets": 2, "vocabulary": "fit", "values": ["x", "y", "x"]}], "tasks": [{"name": "y"}]}"#)
            .contains("value \"x\" is listed twice"))
        XCTAssertTrue(message(#"{"features": [{"name": "a", "kind": "dense", "transform": "standardize", "clip": true}], "tasks": [{"name": "y"}]}"#)
            .contains("features[0].clip: applies to the minmax transform only"))
        XCTAssertTrue(message(#"{"features": [{"name": "a", "kind": "dense", "transform": "minmax", "clip": true, "min": 3, "max": 1}], "tasks": [{"name": "y"}]}"#)
            .contains("below min"))
        // A value that is not UTF-8 cannot be kept as text with the model.
        let schema = try DataSchema(json: Data(Self.json.utf8), file: "schema.json")
        let url = directory.appendingPathComponent("latin1.csv")
        var bytes = Array("x,k,h,city,tag,y\n1,2,a,oslo,t1,1\n1,2,a,".utf8)
        bytes += [0x4D, 0xE1, 0x6C] + Array(",t1,1\n".utf8)
        try Data(bytes).write(to: url)
        XCTAssertThrowsError(try SchemaScan(schema: schema, paths: [url.path], keepRows: false)) { error in
            XCTAssertTrue("\(error)".contains("latin1.csv:3 field city (column 4)"), "\(error)")
            XCTAssertTrue("\(error)".contains("not UTF-8"), "\(error)")
        }
    }
}
