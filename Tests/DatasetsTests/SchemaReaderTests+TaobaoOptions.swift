import XCTest
import Foundation
@testable import Datasets

/// The schema options that let the built-in Taobao layout be a schema without losing the built-in
/// reader's behaviour: `"trim": false` (values kept as written, as TensorFlow's CSV decoder keeps
/// them), `"vocabulary": "identity"` (an integer that is its own row, `clip` to clamp it) and
/// `"required"` labels. Each is checked on the fast path and on the checked path, which must agree.
extension SchemaReaderTests {
    static let identity = """
        {"header": false, "names": ["level", "city", "tags", "y"], "trim": false,
         "features": [{"name": "level", "kind": "sparse", "buckets": 5, "vocabulary": "identity"},
                      {"name": "city", "kind": "sparse", "buckets": 8}, {"name": "tags", "kind": "tags", "buckets": 16}],
         "tasks": [{"name": "y", "positive": ["1"], "negative": ["0"], "required": true}]}
        """

    func testAnIdentityValueIsItsRowAndItsKeyThatOfItsPlainDigits() throws {
        let s = try schema(Self.identity)
        let offset = Int32(s.featureSchema.fieldOffsets[0])
        let text = "0,a,x,1\n4,a,x,0\n+3,a,x,0\n03,a,x,0\n3,a,x,1\n"
        let results = try readBothPaths(Self.identity, text, keepKeys: true)
        for result in results {
            let data = try result.get()
            XCTAssertEqual((0 ..< 5).map { Array(data.ids(row: $0, field: 0)) }, [[offset], [offset + 4], [offset + 3], [offset + 3], [offset + 3]])
            let keys = try XCTUnwrap(data.keys)
            let bags = try XCTUnwrap(data.bagOffsets)
            let levelKeys = (0 ..< 5).map { keys[Int(bags[$0 * 3])] }
            XCTAssertEqual(levelKeys, ["0", "4", "3", "3", "3"].map { FieldHash.key(field: 0, value: $0) })
            XCTAssertEqual(data.labels, [1, 0, 0, 0, 1])
        }
        XCTAssertEqual(try results[0].get().ids, try results[1].get().ids)
        XCTAssertEqual(try results[0].get().keys, try results[1].get().keys)
    }

    func testAnIdentityValueOutOfRangeOrNotAnIntegerIsNamedAndClipClampsOnlyTheRange() throws {
        for (value, expected) in [("5", "5 is outside [0, 5)"), ("-1", "-1 is outside [0, 5)"), ("2.0", "\"2.0\" is not an integer"),
                                  ("", "empty; an identity feature"), (" 2", "\" 2\" is not an integer"), ("x", "\"x\" is not an integer")] {
            for result in try readBothPaths(Self.identity, "1,a,x,1\n\(value),a,x,1\n", keepKeys: true) {
                guard case .failure(let e) = result else { XCTFail("\(value) was read"); continue }
                XCTAssertEqual(e.line, 2, value)
                XCTAssertEqual(e.field, "level (column 1)", value)
                XCTAssertTrue(e.message.contains(expected), "\(value): \(e.message)")
            }
        }
        let clipped = Self.identity.replacingOccurrences(of: #""vocabulary": "identity""#, with: #""vocabulary": "identity", "clip": true"#)
        let s = try schema(clipped)
        XCTAssertTrue(s.features[0].clip)
        let offset = Int32(s.featureSchema.fieldOffsets[0])
        for result in try readBothPaths(clipped, "7,a,x,1\n-2,a,x,1\n99999999999999999999,a,x,0\n", keepKeys: true) {
            let data = try result.get()
            XCTAssertEqual((0 ..< 3).map { Array(data.ids(row: $0, field: 0)) }, [[offset + 4], [offset], [offset + 4]])
            let keys = try XCTUnwrap(data.keys), bags = try XCTUnwrap(data.bagOffsets)
            XCTAssertEqual(keys[Int(bags[3])], FieldHash.key(field: 0, value: "0"), "a clamped value keeps its row's key")
        }
        for result in try readBothPaths(clipped, "1.5,a,x,1\n", keepKeys: true) {
            guard case .failure(let e) = result else { XCTFail("clip read a fraction"); continue }
            XCTAssertTrue(e.message.contains("not an integer"), e.message)
        }
    }

    func testWithoutTrimSpacesArePartOfTheValue() throws {
        let s = try schema(Self.identity)
        XCTAssertFalse(s.trim)
        for result in try readBothPaths(Self.identity, "1,a,x| y,1\n1, a,x|y ,0\n1,a ,x||y,1\n", keepKeys: true) {
            let data = try result.get()
            XCTAssertEqual(data.count, 3)
            let city = (0 ..< 3).map { Array(data.ids(row: $0, field: 1)) }
            XCTAssertNotEqual(city[0], city[1])
            XCTAssertNotEqual(city[0], city[2])
            let tags = (0 ..< 3).map { Array(data.ids(row: $0, field: 2)) }
            XCTAssertEqual(tags[0][0], tags[2][0])
            XCTAssertNotEqual(tags[0][1], tags[2][1], "\" y\" is not \"y\"")
            XCTAssertNotEqual(tags[1][1], tags[2][1], "\"y \" is not \"y\"")
        }
        // A label with a space is not "1" or "0" without trimming.
        for result in try readBothPaths(Self.identity, "1,a,x, 1\n", keepKeys: true) {
            guard case .failure(let e) = result else { XCTFail("\" 1\" was read as a label"); continue }
            XCTAssertEqual(e.field, "y (column 4)")
        }
        // The same rows with trimming: the spaces go.
        let trimmed = Self.identity.replacingOccurrences(of: #""trim": false,"#, with: "")
        for result in try readBothPaths(trimmed, "1, a,x| y, 1\n1,a,x|y,1\n", keepKeys: true) {
            let data = try result.get()
            XCTAssertEqual(Array(data.ids(row: 0, field: 1)), Array(data.ids(row: 1, field: 1)))
            XCTAssertEqual(Array(data.ids(row: 0, field: 2)), Array(data.ids(row: 1, field: 2)))
        }
    }

    func testARequiredLabelRefusesAnEmptyCell() throws {
        for result in try readBothPaths(Self.identity, "1,a,x,1\n1,a,x,\n", keepKeys: true) {
            guard case .failure(let e) = result else { XCTFail("an empty required label was read"); continue }
            XCTAssertEqual(e.line, 2)
            XCTAssertEqual(e.field, "y (column 4)")
            XCTAssertTrue(e.message.contains("required"), e.message)
        }
        let optional = Self.identity.replacingOccurrences(of: #", "required": true"#, with: "")
        for result in try readBothPaths(optional, "1,a,x,1\n1,a,x,\n", keepKeys: true) { XCTAssertTrue(try result.get().labels[1].isNaN) }
    }

    /// A defect found moving Taobao onto the reader: `maxRows` counted blank lines as rows.
    func testMaxRowsCountsRecordsNotBlankLines() throws {
        for result in try readBothPaths(Self.identity, "1,a,x,1\n\n  \n2,a,x,0\n\r\n3,a,x,1\n4,a,x,1\n", keepKeys: true, maxRows: 3) {
            let data = try result.get()
            XCTAssertEqual(data.count, 3)
            XCTAssertEqual(data.labels, [1, 0, 1])
        }
    }

    /// An identity field after a fitted vocabulary that grows past its capacity: the rows the scan
    /// kept (encoded before the vocabulary was fitted) move with the field's offset.
    func testIdentityRowsAfterAGrowingVocabularyAreTheSameKeptOrReadAgain() throws {
        let json = """
            {"header": false, "names": ["city", "level", "y"],
             "features": [{"name": "city", "kind": "sparse", "buckets": 2, "vocabulary": "fit"},
                          {"name": "level", "kind": "sparse", "buckets": 4, "vocabulary": "identity"}],
             "tasks": [{"name": "y"}]}
            """
        let path = try write("grow.csv", "a,0,1\nb,1,0\nc,2,1\nd,3,0\n")
        let scan = try SchemaScan(schema: try schema(json), paths: [path], keepRows: true)
        XCTAssertEqual(scan.schema.features[0].values, ["a", "b", "c", "d"])
        let kept = try XCTUnwrap(scan.data)
        let again = try readAll(scan.schema, path)
        XCTAssertEqual(kept.ids, again.ids)
        let offset = Int32(scan.schema.featureSchema.fieldOffsets[1])
        XCTAssertEqual(offset, 5, "four values and the unseen row")
        XCTAssertEqual((0 ..< 4).map { kept.ids[$0 * 2 + 1] }, [offset, offset + 1, offset + 2, offset + 3])
    }

    func testTheTaobaoOptionsSurviveTheJSONAndTheirMistakesAreNamed() throws {
        let s = try schema(Self.identity)
        XCTAssertEqual(s.features[0].vocabulary, .identity)
        XCTAssertTrue(s.tasks[0].required)
        XCTAssertEqual(try DataSchema(json: Data(s.json.utf8), file: "manifest"), s)
        let taobao = Taobao.dataSchema(clampPrice: true)
        XCTAssertEqual(try DataSchema(json: Data(taobao.json.utf8), file: "manifest"), taobao)
        let message = schemaMessage
        let cases: [(String, String)] = [
            (#"{"trim": "no", "features": [{"name": "a", "kind": "dense"}], "tasks": [{"name": "y"}]}"#, "trim: must be true or false"),
            (#"{"features": [{"name": "a", "kind": "sparse", "buckets": 4, "vocabulary": "ids"}], "tasks": [{"name": "y"}]}"#, "expected hash, fit or identity"),
            (#"{"features": [{"name": "a", "kind": "sparse", "buckets": 4, "clip": true}], "tasks": [{"name": "y"}]}"#, "features[0].clip: applies to dense minmax and sparse identity"),
            (#"{"features": [{"name": "a", "kind": "tags", "buckets": 4, "clip": true}], "tasks": [{"name": "y"}]}"#, "features[0].clip: applies to dense minmax and sparse identity"),
            (#"{"features": [{"name": "a", "kind": "dense", "clip": true}], "tasks": [{"name": "y"}]}"#, "features[0].clip: applies to the minmax transform only"),
            (#"{"features": [{"name": "a", "kind": "dense"}], "tasks": [{"name": "y", "required": 1}]}"#, "tasks[0].required: must be true or false"),
            (#"{"features": [{"name": "a", "kind": "sparse", "buckets": 2000000000}, {"name": "b", "kind": "tags", "buckets": 200000000}], "tasks": [{"name": "y"}]}"#,
             "features: the sparse and tags fields have 2200000000 rows in all"),
        ]
        for (json, expected) in cases { XCTAssertTrue(message(json).contains(expected), "\(json): \(message(json))") }
    }
}
