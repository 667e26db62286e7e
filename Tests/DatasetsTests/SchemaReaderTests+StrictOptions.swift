import XCTest
import Foundation
@testable import Datasets

/// The schema options that let the built-in Census layout be a schema without losing the built-in
/// reader's refusals: `"names"` for a file without a header (columns by name, a fixed field
/// count, named columns in messages), `"required"` dense features and `"negative"` label lists.
/// Each is checked on the fast path and on the checked path, which must agree.
extension SchemaReaderTests {
    static let strict = """
        {"header": false, "names": ["age", "city", "label"],
         "features": [{"name": "age", "kind": "dense", "required": true}, {"name": "town", "column": "city", "kind": "sparse", "buckets": 8}],
         "tasks": [{"name": "y", "column": "label", "positive": ["yes"], "negative": ["no"]}]}
        """

    /// Reads `text` through `json` on the fast path and on the checked path, in chunks of 2 records.
    func readBothPaths(_ json: String, _ text: String, keepKeys: Bool = false, maxRows: Int? = nil) throws -> [Result<TabularData, DatasetError>] {
        let path = try write("both-\(UUID().uuidString).csv", text)
        return try [true, false].map { fast in
            var reader = SchemaReader(schema: try schema(json), keepKeys: keepKeys)
            reader.fastPath = fast
            var parts: [TabularData] = []
            do {
                try reader.read(.file(path), chunkRows: 2, maxRows: maxRows) { parts.append($0); return true }
                return .success(TabularData.concatenating(parts)!)
            } catch let error as DatasetError {
                return .failure(error)
            }
        }
    }

    func testNamesFindColumnsByNameWithoutAHeader() throws {
        for result in try readBothPaths(Self.strict, "3,paris,yes\n4, rome ,no\n\n5,paris,\n") {
            let data = try result.get()
            XCTAssertEqual(data.count, 3)
            XCTAssertEqual(data.dense, [3, 4, 5])
            XCTAssertEqual(data.labels[0 ..< 2], [1, 0])
            XCTAssertTrue(data.labels[2].isNaN, "an empty label is missing, as in any schema")
            XCTAssertEqual(data.ids[0], data.ids[2])
        }
    }

    func testNamesFixTheFieldCountAndNameColumnsInMessages() throws {
        for (text, line) in [("3,paris,yes,extra\n", 1), ("3,paris,yes\n4,rome\n", 2)] {
            for result in try readBothPaths(Self.strict, text) {
                guard case .failure(let e) = result else { return XCTFail("\(text) was read") }
                XCTAssertEqual(e.line, line)
                XCTAssertTrue(e.message.contains("expected 3") && e.message.contains("\"names\""), e.message)
            }
        }
        for result in try readBothPaths(Self.strict, "3,paris,yes\nold,rome,no\n") {
            guard case .failure(let e) = result else { return XCTFail("a bad number was read") }
            XCTAssertEqual(e.field, "age (column 1)")
            XCTAssertEqual(e.line, 2)
        }
    }

    func testARequiredDenseFeatureRefusesAnEmptyCellAndSaysWhatAQuestionMarkIs() throws {
        for result in try readBothPaths(Self.strict, "3,paris,yes\n ,rome,no\n") {
            guard case .failure(let e) = result else { return XCTFail("an empty required cell was read") }
            XCTAssertEqual(e.line, 2)
            XCTAssertEqual(e.field, "age (column 1)")
            XCTAssertTrue(e.message.contains("required"), e.message)
        }
        for result in try readBothPaths(Self.strict, "?,rome,no\n") {
            guard case .failure(let e) = result else { return XCTFail("? was read as a number") }
            XCTAssertTrue(e.message.contains("missing value"), e.message)
        }
        // Without "required", the empty cell takes the default on both paths.
        let lenient = Self.strict.replacingOccurrences(of: #", "required": true"#, with: #", "default": 7"#)
        for result in try readBothPaths(lenient, "3,paris,yes\n,rome,no\n") { XCTAssertEqual(try result.get().dense, [3, 7]) }
    }

    func testANegativeListRefusesOtherLabels() throws {
        for result in try readBothPaths(Self.strict, "3,paris,yes\n4,rome,maybe\n") {
            guard case .failure(let e) = result else { return XCTFail("a label in neither list was read") }
            XCTAssertEqual(e.line, 2)
            XCTAssertEqual(e.field, "label (column 3)")
            XCTAssertTrue(e.message.contains("\"maybe\"") && e.message.contains("\"yes\", \"no\""), e.message)
        }
        // Without a negative list, every other value is 0, as before.
        let lenient = Self.strict.replacingOccurrences(of: #", "negative": ["no"]"#, with: "")
        for result in try readBothPaths(lenient, "3,paris,yes\n4,rome,maybe\n") { XCTAssertEqual(try result.get().labels, [1, 0]) }
    }

    func testTheOptionsSurviveTheJSONAndTheirMistakesAreNamed() throws {
        let s = try schema(Self.strict)
        XCTAssertEqual(s.names, ["age", "city", "label"])
        XCTAssertTrue(s.features[0].required)
        XCTAssertEqual(s.tasks[0].negative, ["no"])
        XCTAssertEqual(try DataSchema(json: Data(s.json.utf8), file: "manifest"), s)
        let message = schemaMessage
        let cases: [(String, String)] = [
            (#"{"names": ["a"], "features": [{"name": "a", "kind": "dense"}], "tasks": [{"name": "a"}]}"#, "names: names the columns of a file without a header"),
            (#"{"header": false, "names": ["a", "a"], "features": [{"name": "a", "kind": "dense"}], "tasks": [{"name": "y", "index": 0}]}"#, "\"a\" names two columns"),
            (#"{"header": false, "names": ["a", "y"], "features": [{"name": "b", "kind": "dense"}], "tasks": [{"name": "y"}]}"#, "features[0]: reads column \"b\", which \"names\" does not list"),
            (#"{"header": false, "names": ["a", "y"], "features": [{"name": "a", "kind": "dense"}], "tasks": [{"name": "y", "index": 2}]}"#, "tasks[0].index: 2 is past the 2 columns"),
            (#"{"features": [{"name": "a", "kind": "dense", "required": true, "default": 1}], "tasks": [{"name": "y"}]}"#, "features[0].required"),
            (#"{"features": [{"name": "a", "kind": "sparse", "buckets": 4, "required": true}], "tasks": [{"name": "y"}]}"#, "features[0].required: applies to dense features"),
            (#"{"features": [{"name": "a", "kind": "dense"}], "tasks": [{"name": "y", "negative": ["0"]}]}"#, "tasks[0].negative: applies with \"positive\" only"),
            (#"{"features": [{"name": "a", "kind": "dense"}], "tasks": [{"name": "y", "positive": ["1"], "negative": ["1"]}]}"#, "listed as positive and as negative"),
        ]
        for (json, expected) in cases { XCTAssertTrue(message(json).contains(expected), "\(json): \(message(json))") }
    }
}
