import XCTest
@testable import Datasets

/// Every way a Taobao read can fail names the file, and the line and column when there is one.
final class TaobaoErrorTests: XCTestCase {
    typealias Fixture = TaobaoFixture
    let good = TaobaoFixture.line()

    /// The error loading `bad` as line 3 (after a good line and a blank one) gives.
    func error(_ bad: String, options: TaobaoOptions = .init(), file: StaticString = #filePath, line: UInt = #line) throws -> (DatasetError?, String) {
        let path = try Fixture.file(self, lines: [good, "", bad, good])
        return (Fixture.error({ _ = try Taobao.load(path: path, options: options) }, file: file, line: line), path)
    }

    func testWrongColumnCount() throws {
        let (short, path) = try error(Fixture.base.dropLast().joined(separator: ","))
        XCTAssertEqual(short?.description, "\(path):3: found 19 fields, expected 20 (the schema's \"names\" lists 20) separated by \",\"")
        XCTAssertEqual(short?.line, 3)
        XCTAssertNil(short?.field)

        let (long, path2) = try error(good + ",5")
        XCTAssertEqual(long?.description, "\(path2):3: found 21 fields, expected 20 (the schema's \"names\" lists 20) separated by \",\"")

        let (one, _) = try error("garbage")
        XCTAssertEqual(one?.message, "found 1 field, expected 20 (the schema's \"names\" lists 20) separated by \",\"")
    }

    func testBadLabels() throws {
        let (x, path) = try error(Fixture.line(["clk": "x"]))
        XCTAssertEqual(x?.description, "\(path):3 field clk (column 1): unknown label \"x\" of binary task \"ctr\"; expected one of \"1\", \"0\"")
        XCTAssertEqual(x?.line, 3)
        XCTAssertEqual(x?.field, "clk (column 1)")

        let (two, path2) = try error(Fixture.line(["buy": "2"]))
        XCTAssertEqual(two?.description, "\(path2):3 field buy (column 2): unknown label \"2\" of binary task \"cvr\"; expected one of \"1\", \"0\"")

        let (empty, path3) = try error(Fixture.line(["clk": ""]))
        XCTAssertEqual(empty?.description, "\(path3):3 field clk (column 1): empty label of task \"ctr\", which is required (every row has its label)")

        for text in ["01", " 1", "1.0", "-0", "true"] {
            let (e, _) = try error(Fixture.line(["buy": text]))
            XCTAssertEqual(e?.field, "buy (column 2)", text)
            XCTAssertEqual(e?.line, 3, text)
        }
    }

    func testBadPrice() throws {
        let (high, path) = try error(Fixture.line(["price": "50"]))
        XCTAssertEqual(high?.description, "\(path):3 field price (column 20): 50 is outside [0, 50), the rows of this identity feature "
                       + "(\"clip\": true on the feature clamps it; for the built-in Taobao data, --clamp_price)")
        let (low, _) = try error(Fixture.line(["price": "-1"]))
        XCTAssertTrue(low?.message.hasPrefix("-1 is outside [0, 50)") ?? false, low?.description ?? "")
        XCTAssertEqual(low?.line, 3)
        XCTAssertEqual(low?.field, "price (column 20)")
        let (fraction, _) = try error(Fixture.line(["price": "3.5"]))
        XCTAssertEqual(fraction?.message, "\"3.5\" is not an integer; an identity feature's value is its row, in [0, 50)")
        XCTAssertEqual(fraction?.line, 3)
        let (empty, path2) = try error(Fixture.line(["price": ""]))
        XCTAssertEqual(empty?.description, "\(path2):3 field price (column 20): empty; an identity feature's value is its row, an integer in [0, 50)")
        for text in ["-", "+", "4x", " 4"] {
            let (e, _) = try error(Fixture.line(["price": text]))
            XCTAssertEqual(e?.field, "price (column 20)", text)
        }

        // Clamping repairs range, not text.
        let clamp = TaobaoOptions(clampPrice: true)
        let (stillFraction, _) = try error(Fixture.line(["price": "3.5"]), options: clamp)
        XCTAssertEqual(stillFraction?.field, "price (column 20)")
        let (stillEmpty, _) = try error(Fixture.line(["price": ""]), options: clamp)
        XCTAssertEqual(stillEmpty?.field, "price (column 20)")
    }

    func testFirstErrorWins() throws {
        let (e, _) = try error(Fixture.line(["clk": "x", "price": "99"]))
        XCTAssertEqual(e?.field, "clk (column 1)")
    }

    func testErrorInALaterChunkKeepsItsLineNumber() throws {
        var lines = Fixture.lines(30)
        lines[26] = Fixture.line(["buy": "7"])
        let path = try Fixture.file(self, lines: lines)
        var seen = 0
        let e = Fixture.error {
            try Taobao.read(path: path, chunkRows: 4) { seen += $0.count; return true }
        }
        XCTAssertEqual(e?.line, 27)
        XCTAssertEqual(seen, 24)  // six whole chunks were handed out before the bad line
    }

    func testMissingFile() throws {
        let path = try Fixture.directory(self) + "/nothing"
        let e = Fixture.error { _ = try Taobao.load(path: path) }
        XCTAssertEqual(e?.file, path)
        XCTAssertEqual(try? Taobao.countRows(path: path), nil)
        XCTAssertEqual(try? Taobao.slices(path: path, count: 2), nil)
    }

    func testByteRangeNeedsAPlainFile() throws {
        let path = try Fixture.directory(self) + "/taobao_train_data.gz"
        try Data([0x1f, 0x8b]).write(to: URL(fileURLWithPath: path))
        let e = Fixture.error { try Taobao.read(path: path, byteRange: 0 ..< 2) { _ in true } }
        XCTAssertTrue(e?.message.contains("gzip") ?? false, e?.description ?? "")
        let e2 = Fixture.error { _ = try Taobao.slices(path: path, count: 2) }
        XCTAssertTrue(e2?.message.contains("gzip") ?? false, e2?.description ?? "")
    }

    func testFilesInDirectory() throws {
        let dir = try Fixture.directory(self)
        XCTAssertNil(try Taobao.files(in: dir))
        XCTAssertNil(try Taobao.files(in: dir + "/nowhere"))
        try good.write(toFile: dir + "/taobao_train_data", atomically: true, encoding: .utf8)
        let e = Fixture.error { _ = try Taobao.files(in: dir) }
        XCTAssertEqual(e?.file, dir)
        XCTAssertTrue(e?.message.contains("taobao_test_data") ?? false, e?.description ?? "")
        try good.write(toFile: dir + "/taobao_test_data", atomically: true, encoding: .utf8)
        let files = try XCTUnwrap(try Taobao.files(in: dir))
        XCTAssertEqual(files.train, dir + "/taobao_train_data")
        XCTAssertEqual(files.test, dir + "/taobao_test_data")
    }
}
