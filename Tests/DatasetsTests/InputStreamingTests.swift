import XCTest
import Foundation
import Tensor
@testable import Datasets

/// Reading Census and Taobao rows from any input (a file or a stream such as stdin) in line blocks
/// encoded on several threads: the same rows, in the same order, as the whole-file readers, and
/// the error of the earliest bad line.
final class InputStreamingTests: XCTestCase {
    override func setUp() { Parallel.threads = 3 }
    override func tearDown() { Parallel.threads = 0 }

    /// A pipe whose reading end yields `text`, written from another thread.
    func stream(_ text: String, name: String = "stdin") -> DataInput {
        let pipe = Pipe()
        let writer = pipe.fileHandleForWriting
        DispatchQueue.global().async {
            writer.write(Data(text.utf8))
            try? writer.close()
        }
        return .stream(pipe.fileHandleForReading, name: name)
    }

    struct CensusRow: Equatable {
        var dense: [Float], ids: [Int32], labels: [Float]
    }

    func censusRows(_ data: TabularData) -> [CensusRow] {
        (0 ..< data.count).map { r in
            CensusRow(dense: data.dense(row: r), ids: (0 ..< data.fieldCount).map { Int32(data.id(row: r, field: $0)) }, labels: data.labels(row: r))
        }
    }

    /// Census lines varied in age, education and income, with blank lines between some of them.
    func censusText(_ n: Int) -> String {
        (0 ..< n).map { i in
            CensusFixture.line(["age": "\(20 + i % 50)", "education": ["Children", "Bachelors degree(BA AB BS)", "Other \(i % 7)"][i % 3],
                                "income_50k": i % 4 == 0 ? "50000+" : "- 50000"]) + (i % 9 == 0 ? "\n\n" : "\n")
        }.joined()
    }

    func testCensusChunksFromFilesStreamsAndThreadsAreTheWholeFilesRows() throws {
        let dir = try CensusFixture.directory(self)
        let train = dir + "/train", test = dir + "/test"
        try CensusFixture.write(censusText(40), to: train)
        try CensusFixture.write(censusText(700), to: test)
        let encoder = try CensusEncoder.fit(path: train, capacities: CensusIncome.defaultTableSizes, maxRows: nil).encoder
        let whole = censusRows(try encoder.encode(path: test))
        XCTAssertEqual(whole.count, 700)

        func read(_ input: DataInput, chunkRows: Int) throws -> (rows: [CensusRow], chunks: [Int]) {
            var rows: [CensusRow] = [], chunks: [Int] = []
            try encoder.encode(input, chunkRows: chunkRows) { data in
                rows += censusRows(data)
                chunks.append(data.count)
                return true
            }
            return (rows, chunks)
        }
        for chunkRows in [1, 5, 300, 10_000] {
            let file = try read(.file(test), chunkRows: chunkRows)
            XCTAssertEqual(file.rows, whole, "chunkRows \(chunkRows)")
            XCTAssertTrue(file.chunks.allSatisfy { $0 > 0 && $0 <= chunkRows }, "\(file.chunks)")
            XCTAssertEqual(try read(stream(censusText(700)), chunkRows: chunkRows).rows, whole)
        }
        // Stopping early reads no further chunk.
        var chunks = 0
        try encoder.encode(.file(test), chunkRows: 100) { _ in chunks += 1; return chunks < 2 }
        XCTAssertEqual(chunks, 2)

        if CensusFixture.gzipAvailable {
            try CensusFixture.gzip(test)
            XCTAssertEqual(try read(.file(test + ".gz"), chunkRows: 64).rows, whole)
        }
    }

    func testSharesOfABlockGiveTheSerialRowsAndTheEarliestError() throws {
        let lines = TaobaoFixture.lines(50)
        var block = LineBlock()
        block.firstNumber = 11
        for line in lines + ["", "  "] {
            let start = block.bytes.count
            block.bytes += Array(line.utf8)
            block.lines.append(start ..< block.bytes.count)
        }
        let serial = TaobaoFixture.rows(try encodeInParallel(block, path: "p", minLines: 1_000) { ReferenceTaobaoEncoding(options: .init(), reserveRows: 8) }!)
        XCTAssertEqual(serial, lines.map(TaobaoFixture.expected))
        for threads in [2, 3, 7] {
            Parallel.threads = threads
            let parallel = try encodeInParallel(block, path: "p", minLines: 1) { ReferenceTaobaoEncoding(options: .init(), reserveRows: 8) }!
            XCTAssertEqual(TaobaoFixture.rows(parallel), serial, "\(threads) threads")
        }

        var bad = block
        func breakLine(_ i: Int, with text: String) {
            let start = bad.bytes.count
            bad.bytes += Array(text.utf8)
            bad.lines[i] = start ..< bad.bytes.count
        }
        breakLine(40, with: "1,2,3")
        breakLine(12, with: TaobaoFixture.line(["price": "x"]))
        for threads in [1, 2, 5] {
            Parallel.threads = threads
            let error = TaobaoFixture.error { _ = try encodeInParallel(bad, path: "p", minLines: 1) { ReferenceTaobaoEncoding(options: .init(), reserveRows: 8) } }
            XCTAssertEqual(error?.line, 11 + 12, "\(threads) threads")
            XCTAssertEqual(error?.field, "price")
        }

        var blank = LineBlock()
        blank.bytes = Array("  \n".utf8)
        blank.lines = [0 ..< 2, 2 ..< 2]
        XCTAssertNil(try encodeInParallel(blank, path: "p", minLines: 1) { ReferenceTaobaoEncoding(options: .init(), reserveRows: 8) })
    }

    func testTaobaoFromAStreamIsTheFilesRowsAndErrorsNameTheStream() throws {
        let lines = TaobaoFixture.lines(600)
        let text = lines.map { $0 + "\n" }.joined()
        let path = try TaobaoFixture.file(self, text)
        let whole = TaobaoFixture.rows(try Taobao.load(path: path))
        for chunkRows in [7, 256, 5_000] {
            var rows: [TaobaoFixture.Row] = []
            try Taobao.read(stream(text), chunkRows: chunkRows) { rows += TaobaoFixture.rows($0); return true }
            XCTAssertEqual(rows, whole, "chunkRows \(chunkRows)")
            rows = []
            try Taobao.read(.file(path), chunkRows: chunkRows) { rows += TaobaoFixture.rows($0); return true }
            XCTAssertEqual(rows, whole, "chunkRows \(chunkRows)")
        }
        let error = TaobaoFixture.error {
            try Taobao.read(self.stream(lines[0] + "\n" + TaobaoFixture.line(["clk": "2"]) + "\n", name: "stdin")) { _ in true }
        }
        XCTAssertEqual(error?.description, "stdin:2 field clk (column 1): unknown label \"2\" of binary task \"ctr\"; expected one of \"1\", \"0\"")
        // An error thrown by the body comes out unchanged.
        struct Stop: Error {}
        XCTAssertThrowsError(try Taobao.read(.file(path)) { _ in throw Stop() }) { XCTAssertTrue($0 is Stop) }
    }
}
