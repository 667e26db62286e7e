import XCTest
@testable import Datasets

/// Hand-written Taobao lines encode to exactly the fused-table rows the definition gives.
final class TaobaoParsingTests: XCTestCase {
    typealias Fixture = TaobaoFixture

    func testLayout() {
        XCTAssertEqual(Taobao.columnNames.count, 20)
        XCTAssertEqual(Taobao.fieldNames.count, 17)
        XCTAssertEqual(Taobao.bucketSizes, [10, 100_000, 10_000, 100_000, 100_000, 100_000, 100_000, 100, 100, 10, 10, 10, 10, 10, 100_000, 100_000, 50])
        XCTAssertFalse(Taobao.fieldNames.contains("final_gender_code"))
        XCTAssertEqual(Taobao.schema.denseNames, [])
        XCTAssertEqual(Taobao.schema.fieldNames, Taobao.fieldNames)
        XCTAssertEqual(Taobao.schema.fieldRows, Taobao.bucketSizes)
        XCTAssertEqual(Taobao.schema.totalRows, 710_310)
        XCTAssertEqual(Taobao.schema.fieldOffsets[16], 710_260)
        XCTAssertEqual(Taobao.taskNames, ["ctr", "cvr"])
        XCTAssertEqual(Taobao.bagFieldNames, ["tag_category_list", "tag_brand_list"])
    }

    func testHandWrittenLines() throws {
        let lines = [
            Fixture.line(),
            Fixture.line(["clk": "1", "buy": "1", "brand": "", "pvalue_level": ""]),
            Fixture.line(["clk": "1", "tag_category_list": "", "tag_brand_list": "7"]),
            Fixture.line(["tag_category_list": "a||b", "tag_brand_list": "1|2|3|4|5", "price": "0"]),
            Fixture.line(["tag_category_list": "|x|", "tag_brand_list": "||", "price": "49"]),
            Fixture.line(["final_gender_code": "1"]),
        ]
        let path = try Fixture.file(self, lines: lines)
        let data = try Taobao.load(path: path)
        XCTAssertEqual(data.count, 6)
        XCTAssertEqual(data.denseWidth, 0)
        XCTAssertEqual(data.dense, [])
        XCTAssertEqual(data.fieldCount, 17)
        XCTAssertEqual(data.taskNames, ["ctr", "cvr"])
        XCTAssertEqual(data.labels, [0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertNotNil(data.bagOffsets)
        XCTAssertEqual(Fixture.rows(data), lines.map(Fixture.expected))

        let brand = 5, pvalue = 10, category = 14, tagBrand = 15, price = 16
        let offsets = Taobao.schema.fieldOffsets
        // The empty string is a value with a bucket of its own.
        XCTAssertEqual(Array(data.ids(row: 1, field: brand)), [Fixture.row(field: brand, "")])
        XCTAssertEqual(Array(data.ids(row: 1, field: pvalue)), [Fixture.row(field: pvalue, "")])
        XCTAssertNotEqual(data.ids(row: 1, field: brand), data.ids(row: 0, field: brand))
        // Tag lists: 0, 1 and many ids; empty tokens skipped.
        XCTAssertEqual(Array(data.ids(row: 2, field: category)), [])
        XCTAssertEqual(Array(data.ids(row: 2, field: tagBrand)), [Fixture.row(field: tagBrand, "7")])
        XCTAssertEqual(Array(data.ids(row: 3, field: category)), [Fixture.row(field: category, "a"), Fixture.row(field: category, "b")])
        XCTAssertEqual(Array(data.ids(row: 3, field: tagBrand)), (1 ... 5).map { Fixture.row(field: tagBrand, String($0)) })
        XCTAssertEqual(Array(data.ids(row: 4, field: category)), [Fixture.row(field: category, "x")])
        XCTAssertEqual(Array(data.ids(row: 4, field: tagBrand)), [])
        XCTAssertEqual(Array(data.ids(row: 0, field: tagBrand)), [Fixture.row(field: tagBrand, "124353"), Fixture.row(field: tagBrand, "159233")])
        // Price is its own bucket.
        XCTAssertEqual(Array(data.ids(row: 0, field: price)), [Int32(offsets[price] + 2)])
        XCTAssertEqual(Array(data.ids(row: 3, field: price)), [Int32(offsets[price])])
        XCTAssertEqual(Array(data.ids(row: 4, field: price)), [Int32(offsets[price] + 49)])
        // final_gender_code is not used.
        XCTAssertEqual(Fixture.rows(data)[5], Fixture.rows(data)[0])
        // Fields hash apart: the same text in two fields need not share a bucket row, and never
        // leaves its field's rows.
        for r in 0 ..< data.count {
            for f in 0 ..< 17 {
                for id in data.ids(row: r, field: f) {
                    XCTAssert((offsets[f] ..< offsets[f] + Taobao.bucketSizes[f]).contains(Int(id)), "row \(r) field \(f): \(id)")
                }
            }
        }
        // Single-valued fields hold exactly one id.
        let bagOffsets = try XCTUnwrap(data.bagOffsets)
        for r in 0 ..< data.count {
            for f in 0 ..< 14 { XCTAssertEqual(bagOffsets[r * 17 + f + 1] - bagOffsets[r * 17 + f], 1) }
        }
    }

    func testHashedRowIsTheDefinition() throws {
        // Pinned, so a change of FieldHash or of the bucket rule shows up here.
        let path = try Fixture.file(self, lines: [Fixture.line()])
        let data = try Taobao.load(path: path)
        let pid = FieldHash.key(field: 0, value: "430548_1007") % 10
        XCTAssertEqual(Array(data.ids(row: 0, field: 0)), [Int32(pid)])
        let user = FieldHash.key(field: 6, value: "66915") % 100_000
        XCTAssertEqual(Array(data.ids(row: 0, field: 6)), [Int32(Taobao.schema.fieldOffsets[6]) + Int32(user)])
    }

    func testLineEndsAndBlankLines() throws {
        let lines = Fixture.lines(12)
        let plain = try Taobao.load(path: Fixture.file(self, lines: lines))
        let crlf = try Taobao.load(path: Fixture.file(self, lines.joined(separator: "\r\n") + "\r\n\r\n\n  \n"))
        let noFinalBreak = try Taobao.load(path: Fixture.file(self, lines.joined(separator: "\n")))
        XCTAssertEqual(Fixture.rows(plain), lines.map(Fixture.expected))
        XCTAssertEqual(Fixture.rows(crlf), Fixture.rows(plain))
        XCTAssertEqual(Fixture.rows(noFinalBreak), Fixture.rows(plain))
        XCTAssertEqual(plain.bagOffsets, crlf.bagOffsets)

        let empty = try Taobao.load(path: Fixture.file(self, ""))
        XCTAssertEqual(empty.count, 0)
        XCTAssertEqual(empty.bagOffsets, [0])
    }

    func testClampPrice() throws {
        let path = try Fixture.file(self, lines: [Fixture.line(["price": "50"]), Fixture.line(["price": "-1"]), Fixture.line(["price": "1234567890123456789012"])])
        var options = TaobaoOptions()
        options.clampPrice = true
        let data = try Taobao.load(path: path, options: options)
        let offset = Int32(Taobao.schema.fieldOffsets[16])
        XCTAssertEqual((0 ..< 3).map { Array(data.ids(row: $0, field: 16)) }, [[offset + 49], [offset], [offset + 49]])
    }

    func testIdsOfBothLayouts() {
        let single = TabularData(count: 2, denseWidth: 0, dense: [], fieldCount: 3, ids: [0, 1, 2, 3, 4, 5],
                                 taskNames: ["t"], labels: [0, 1])
        XCTAssertNil(single.bagOffsets)
        XCTAssertEqual(Array(single.ids(row: 0, field: 0)), [0])
        XCTAssertEqual(Array(single.ids(row: 1, field: 2)), [5])
        XCTAssertEqual(Array(single.ids(row: 1, field: 0)), [3])

        // Row 0: [10], [], [11, 12]; row 1: [13, 14, 15], [16], [].
        let bags = TabularData(count: 2, denseWidth: 0, dense: [], fieldCount: 3, ids: [10, 11, 12, 13, 14, 15, 16],
                               taskNames: ["t"], labels: [0, 1], bagOffsets: [0, 1, 1, 3, 6, 7, 7])
        XCTAssertEqual(Array(bags.ids(row: 0, field: 0)), [10])
        XCTAssertEqual(Array(bags.ids(row: 0, field: 1)), [])
        XCTAssertEqual(Array(bags.ids(row: 0, field: 2)), [11, 12])
        XCTAssertEqual(Array(bags.ids(row: 1, field: 0)), [13, 14, 15])
        XCTAssertEqual(Array(bags.ids(row: 1, field: 1)), [16])
        XCTAssertEqual(Array(bags.ids(row: 1, field: 2)), [])

        let none = TabularData(count: 0, denseWidth: 0, dense: [], fieldCount: 3, ids: [], taskNames: ["t"], labels: [], bagOffsets: [0])
        XCTAssertEqual(none.count, 0)
    }
}
