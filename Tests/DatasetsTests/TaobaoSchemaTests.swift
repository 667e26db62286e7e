import XCTest
import Foundation
@testable import Datasets

/// Taobao files read by the schema reader with the built-in schema (`Taobao.dataSchema`) give the
/// rows the former line parser gave (`ReferenceTaobaoReader`, kept in the tests), bit for bit:
/// ids, bags, labels and keys, with and without `--clamp_price`, on generated lines with every
/// edge the parser handled and on the shared sample.
final class TaobaoSchemaTests: XCTestCase {
    typealias Fixture = TaobaoFixture

    func assertSame(_ path: String, options: TaobaoOptions, file: StaticString = #filePath, line: UInt = #line) throws {
        let reference = try ReferenceTaobaoReader.load(path: path, options: options)
        let loaded = try Taobao.load(path: path, options: options)
        var streamed: [TabularData] = []
        try Taobao.read(.file(path), chunkRows: 333, options: options) { streamed.append($0); return true }
        for (name, data) in [("load", loaded), ("read", TabularData.concatenating(streamed) ?? loaded)] {
            XCTAssertEqual(data.count, reference.count, name, file: file, line: line)
            XCTAssertEqual(data.ids, reference.ids, name, file: file, line: line)
            XCTAssertEqual(data.bagOffsets, reference.bagOffsets, name, file: file, line: line)
            XCTAssertEqual(data.labels, reference.labels, name, file: file, line: line)
            XCTAssertEqual(data.keys, reference.keys, name, file: file, line: line)
            XCTAssertEqual(data.fieldCount, reference.fieldCount, name, file: file, line: line)
            XCTAssertEqual(data.taskNames, reference.taskNames, name, file: file, line: line)
            XCTAssertEqual(data.denseWidth, 0, name, file: file, line: line)
        }
    }

    func testTheSchemaIsTheBuiltInLayout() {
        let schema = Taobao.dataSchema()
        XCTAssertEqual(schema.featureSchema, Taobao.schema)
        XCTAssertEqual(schema.taskNames, Taobao.taskNames)
        XCTAssertEqual(schema.names, Taobao.columnNames)
        XCTAssertFalse(schema.trim)
        XCTAssertFalse(schema.header)
        XCTAssertEqual(schema.features.filter { $0.kind == .tags }.map(\.name), Taobao.bagFieldNames)
        XCTAssertEqual(schema.features.filter { $0.vocabulary == .identity }.map(\.name), [Taobao.identityFieldName])
        XCTAssertFalse(schema.features.contains { $0.clip })
        XCTAssertTrue(Taobao.dataSchema(clampPrice: true).features.last!.clip)
    }

    func testGeneratedAndEdgeLinesMatchTheReferenceParser() throws {
        let edges = [
            Fixture.line(["brand": "", "pvalue_level": "", "user_id": " 66915", "cate_id": "7587 "]),
            Fixture.line(["tag_category_list": "a||b", "tag_brand_list": "|x| ", "price": "0"]),
            Fixture.line(["tag_category_list": "", "tag_brand_list": " | ", "price": "49"]),
            Fixture.line(["price": "+7"]), Fixture.line(["price": "07"]), Fixture.line(["price": "-0"]),
            Fixture.line(["final_gender_code": "anything", "pid": "x\u{7}y"]),
            Fixture.line(["customer": "é中", "campaign_id": String(repeating: "9", count: 80)]),
        ]
        let lines = Fixture.lines(3_000) + edges + Fixture.lines(100, seed: 9)
        let text = lines.enumerated().map { i, line in line + (i % 97 == 0 ? "\r\n\n \n" : "\n") }.joined()
        let path = try Fixture.file(self, text)
        for options in [TaobaoOptions(), TaobaoOptions(clampPrice: true, keepKeys: true), TaobaoOptions(keepKeys: true)] {
            try assertSame(path, options: options)
        }
        // Out-of-range prices: clamped the same way, keys included.
        let clamped = try Fixture.file(self, lines: [Fixture.line(["price": "50"]), Fixture.line(["price": "-3"]), Fixture.line(["price": "+99"])])
        try assertSame(clamped, options: TaobaoOptions(clampPrice: true, keepKeys: true))
    }

    func testSlicesAndRowLimitsMatchTheReferenceParser() throws {
        let lines = Fixture.lines(2_000)
        let path = try Fixture.file(self, lines.joined(separator: "\n\n"))
        let reference = try ReferenceTaobaoReader.load(path: path, options: TaobaoOptions(keepKeys: true))
        var parts: [TabularData] = []
        for slice in try Taobao.fileSlices(path: path, count: 7) {
            try Taobao.read(path: path, slice: slice, chunkRows: 100, options: TaobaoOptions(keepKeys: true)) { parts.append($0); return true }
        }
        let sliced = try XCTUnwrap(TabularData.concatenating(parts))
        XCTAssertEqual(sliced.ids, reference.ids)
        XCTAssertEqual(sliced.keys, reference.keys)
        XCTAssertEqual(sliced.labels, reference.labels)
        let limited = try Taobao.load(path: path, maxRows: 777)
        XCTAssertEqual(limited.count, 777)
        XCTAssertEqual(Array(limited.labels), Array(reference.labels[0 ..< 2 * 777]))
    }

    func testTheSharedSampleMatchesTheReferenceParser() throws {
        let files = try Taobao.files(in: TaobaoSharedSampleTests.directory)
        try XCTSkipIf(files == nil, "no Taobao sample at \(TaobaoSharedSampleTests.directory)")
        for path in [files!.train, files!.test] {
            try assertSame(path, options: TaobaoOptions(keepKeys: true))
        }
    }
}

/// The copy of the built-in Taobao schema that YourOwnData gives users to start from is the schema
/// the reader uses.
final class TaobaoSchemaDocumentTests: XCTestCase {
    func testTheDocumentedJSONIsTheBuiltInSchema() throws {
        let page = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/Datasets/Datasets.docc/YourOwnData.md")
        let text = try String(contentsOf: page, encoding: .utf8)
        let section = try XCTUnwrap(text.range(of: "### DeepRec's Taobao layout as a schema"))
        let rest = text[section.upperBound...]
        let open = try XCTUnwrap(rest.range(of: "```json\n"))
        let close = try XCTUnwrap(rest[open.upperBound...].range(of: "```"))
        let json = String(rest[open.upperBound ..< close.lowerBound])
        XCTAssertEqual(try DataSchema(json: Data(json.utf8), file: "YourOwnData.md"), Taobao.dataSchema())
    }
}
