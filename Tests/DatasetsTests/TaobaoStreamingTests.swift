import XCTest
@testable import Datasets

/// Chunks, row limits, byte ranges and row counts all see the same rows as one whole read.
final class TaobaoStreamingTests: XCTestCase {
    typealias Fixture = TaobaoFixture

    struct Stop: Error, Equatable { let at: Int }

    func testChunkSizesGiveTheSameRows() throws {
        let lines = Fixture.lines(50)
        let path = try Fixture.file(self, lines: lines)
        let whole = Fixture.rows(try Taobao.load(path: path))
        XCTAssertEqual(whole, lines.map(Fixture.expected))
        for chunkRows in [1, 3, 1000] {
            let (rows, chunks) = try Fixture.read(path, chunkRows: chunkRows)
            XCTAssertEqual(rows, whole, "chunkRows \(chunkRows)")
            XCTAssertEqual(chunks, Array(repeating: chunkRows, count: 50 / chunkRows) + (50 % chunkRows == 0 ? [] : [50 % chunkRows]))
        }
    }

    func testMaxRowsStopsExactly() throws {
        let path = try Fixture.file(self, lines: Fixture.lines(20))
        let whole = Fixture.rows(try Taobao.load(path: path))
        let (rows, chunks) = try Fixture.read(path, chunkRows: 3, maxRows: 7)
        XCTAssertEqual(chunks, [3, 3, 1])
        XCTAssertEqual(rows, Array(whole[..<7]))
        XCTAssertEqual(try Fixture.read(path, chunkRows: 7, maxRows: 7).chunks, [7])
        XCTAssertEqual(try Fixture.read(path, maxRows: 0).chunks, [])
        XCTAssertEqual(try Fixture.read(path, maxRows: 100).rows, whole)
        XCTAssertEqual(Fixture.rows(try Taobao.load(path: path, maxRows: 7)), Array(whole[..<7]))
        XCTAssertEqual(try Taobao.load(path: path, maxRows: -1).count, 0)
        // Rows past the limit are not parsed, so a bad one there is no error.
        let bad = try Fixture.file(self, lines: Fixture.lines(5) + ["not a row"])
        XCTAssertEqual(try Taobao.load(path: bad, maxRows: 5).count, 5)
    }

    func testBodyStopsTheRead() throws {
        let path = try Fixture.file(self, lines: Fixture.lines(20))
        var calls = 0
        try Taobao.read(path: path, chunkRows: 2) { _ in calls += 1; return calls < 3 }
        XCTAssertEqual(calls, 3)

        calls = 0
        XCTAssertThrowsError(try Taobao.read(path: path, chunkRows: 2) { _ in
            calls += 1
            if calls == 2 { throw Stop(at: calls) }
            return true
        }) { XCTAssertEqual($0 as? Stop, Stop(at: 2)) }
        XCTAssertEqual(calls, 2)
    }

    func testSlicesCoverEveryLineOnce() throws {
        let lines = Fixture.lines(50)
        for text in [lines.map { $0 + "\n" }.joined(), lines.joined(separator: "\r\n"), lines.joined(separator: "\n") + "\n\n\n"] {
            let path = try Fixture.file(self, text)
            let whole = Fixture.rows(try Taobao.load(path: path))
            XCTAssertEqual(whole.count, 50)
            for count in 1 ... 5 {
                let slices = try Taobao.slices(path: path, count: count)
                XCTAssertEqual(slices.count, count)
                XCTAssertEqual(slices.first?.lowerBound, 0)
                XCTAssertEqual(slices.last?.upperBound, text.utf8.count)
                for (a, b) in zip(slices, slices.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound) }
                var rows: [Fixture.Row] = []
                for slice in slices {
                    let part = try Fixture.read(path, byteRange: slice, chunkRows: 4).rows
                    if count > 1 { XCTAssertLessThan(part.count, 50, "\(count) slices") }
                    rows += part
                }
                XCTAssertEqual(rows, whole, "\(count) slices")
            }
            // Ranges cut anywhere, not only at line starts, still take each line exactly once.
            var rows: [Fixture.Row] = []
            for start in stride(from: 0, to: text.utf8.count + 50, by: 37) {
                rows += try Fixture.read(path, byteRange: start ..< start + 37).rows
            }
            XCTAssertEqual(rows, whole)
        }
    }

    func testErrorInALaterSliceHasItsTrueLineNumber() throws {
        var lines = Fixture.lines(50)
        lines[3] = ""
        lines[41] = Fixture.line(["price": "3.5"])
        let path = try Fixture.file(self, lines: lines)
        let slices = try Taobao.slices(path: path, count: 3)
        XCTAssertNoThrow(try Fixture.read(path, byteRange: slices[0]))
        XCTAssertNoThrow(try Fixture.read(path, byteRange: slices[1]))
        let e = Fixture.error { _ = try Fixture.read(path, byteRange: slices[2], chunkRows: 2) }
        XCTAssertEqual(e?.line, 42)
        XCTAssertEqual(e?.field, "price (column 20)")
        XCTAssertEqual(e?.file, path)

        // The same through FileSlices, whose first line numbers come from one pass over the file.
        let fileSlices = try Taobao.fileSlices(path: path, count: 3)
        XCTAssertEqual(fileSlices.map(\.bytes), slices)
        for (slice, range) in zip(fileSlices, slices) {
            XCTAssertEqual(slice.firstLine, try ChunkReader.newlines(path: path, before: range.lowerBound) + 1)
        }
        let f = Fixture.error { try Taobao.read(path: path, slice: fileSlices[2], chunkRows: 2) { _ in true } }
        XCTAssertEqual(f?.line, 42)
        XCTAssertEqual(f?.field, "price (column 20)")
    }

    func testSlicesOfTinyFiles() throws {
        let empty = try Fixture.file(self, "")
        XCTAssertEqual(try Taobao.slices(path: empty, count: 3), [0 ..< 0, 0 ..< 0, 0 ..< 0])
        let one = try Fixture.file(self, lines: [Fixture.line()])
        let slices = try Taobao.slices(path: one, count: 4)
        XCTAssertEqual(slices.map(\.count).reduce(0, +), Fixture.line().utf8.count + 1)
        XCTAssertEqual(try slices.map { try Fixture.read(one, byteRange: $0).rows.count }, [1, 0, 0, 0])
    }

    func testCountRows() throws {
        let lines = Fixture.lines(23)
        for (text, name) in [(lines.map { $0 + "\n" }.joined(), "final break"),
                             (lines.joined(separator: "\n"), "no final break"),
                             (lines.joined(separator: "\r\n") + "\r\n\r\n \n\n", "crlf and blank lines"),
                             ("", "empty"), ("\n\n", "blank")] {
            let path = try Fixture.file(self, text)
            let read = try Fixture.read(path).rows.count
            XCTAssertEqual(try Taobao.countRows(path: path), read, name)
            XCTAssertEqual(read, text.isEmpty || text == "\n\n" ? 0 : 23, name)
        }
    }
}
