import XCTest
import Foundation
@testable import Datasets

/// `.gz` input inflated on a thread of its own, ahead of the parser (`GzipPipeline`): the bytes and
/// the encoded rows are those of the plain file, a reader stopped early does not hang, and a
/// corrupt or cut archive is still refused naming the file, after the rows before the damage.
final class GzipPipelineTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gzip-pipeline-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    static let schema = """
        {"features": [{"name": "x", "kind": "dense", "transform": "minmax"}, {"name": "city", "kind": "sparse", "buckets": 64},
                      {"name": "tags", "kind": "tags", "buckets": 32, "combiner": "sum"}],
         "tasks": [{"name": "y"}]}
        """

    /// `rows` CSV records (about 24 bytes each), the plain file and its `.gz` twin (stored blocks).
    func write(rows: Int) throws -> (plain: String, gz: String, bytes: [UInt8]) {
        var text = "y,tags,city,x\n"
        for i in 0..<rows { text += "\(i % 3 == 0 ? 1 : 0),t\(i % 7)|u\(i % 5),\"city \(i % 11)\",\(Double(i % 1000) / 8)\n" }
        let bytes = Array(text.utf8)
        let plain = directory + "/rows.csv", gz = directory + "/rows.csv.gz"
        try Data(bytes).write(to: URL(fileURLWithPath: plain))
        try Data(CorruptGzipTests.gzip(bytes)).write(to: URL(fileURLWithPath: gz))
        return (plain, gz, bytes)
    }

    func read(_ path: String, _ schema: DataSchema) throws -> TabularData {
        var parts: [TabularData] = []
        try SchemaReader(schema: schema).read(.file(path), chunkRows: 1000) { parts.append($0); return true }
        return try XCTUnwrap(TabularData.concatenating(parts))
    }

    /// The pieces, in small chunks so the thread runs ahead and waits, are the file's bytes; the
    /// schema reader encodes the `.gz` file into the rows of the plain one, bit for bit.
    func testInflatedBytesAndRowsAreThoseOfThePlainFile() throws {
        let (plain, gz, bytes) = try write(rows: 120_000)
        XCTAssertGreaterThan(bytes.count, 2 << 20, "more than two 1 MB pieces")
        for chunkSize in [1 << 12, 1 << 20] {
            let reader = try ChunkReader(path: gz, chunkSize: chunkSize)
            var all: [UInt8] = [], pieces = 0
            while let piece = try reader.read() { all += piece; pieces += 1 }
            XCTAssertEqual(all, bytes, "chunk size \(chunkSize)")
            XCTAssertGreaterThan(pieces, 2)
        }
        let schema = try DataSchema(json: Data(Self.schema.utf8), file: "schema.json")
        let fitted = try SchemaScan(schema: schema, paths: [plain], keepRows: false).schema
        XCTAssertEqual(try SchemaScan(schema: schema, paths: [gz], keepRows: false).schema, fitted)
        let a = try read(plain, fitted), b = try read(gz, fitted)
        XCTAssertEqual(b.count, 120_000)
        XCTAssertEqual(b.dense, a.dense)
        XCTAssertEqual(b.ids, a.ids)
        XCTAssertEqual(b.bagOffsets, a.bagOffsets)
        XCTAssertEqual(b.labels, a.labels)
    }

    /// A reader closed after its first piece, or never read, stops its thread and returns.
    func testAReaderStoppedEarlyReturns() throws {
        let (_, gz, bytes) = try write(rows: 20_000)
        for _ in 0..<20 {
            let reader = try ChunkReader(path: gz, chunkSize: 1 << 12)
            XCTAssertEqual(try XCTUnwrap(try reader.read()), Array(bytes[0..<(1 << 12)]))
            reader.close()
        }
        _ = try ChunkReader(path: gz)
    }

    /// A flipped checksum and a cut archive: the rows before the damage are read, then the error
    /// names the file.
    func testCorruptArchivesStillNameTheFile() throws {
        let (_, gz, bytes) = try write(rows: 120_000)
        let schema = try DataSchema(json: Data(Self.schema.utf8), file: "schema.json")
        let whole = CorruptGzipTests.gzip(bytes)
        var flipped = whole
        flipped[flipped.count - 6] ^= 0x5a
        for (name, archive) in [("checksum", flipped), ("cut", Array(whole[0..<(whole.count / 2)]))] {
            try Data(archive).write(to: URL(fileURLWithPath: gz))
            var rows = 0
            XCTAssertThrowsError(try SchemaReader(schema: schema).read(.file(gz), chunkRows: 1000) { rows += $0.count; return true }, name) { error in
                XCTAssertEqual((error as? DatasetError)?.file, gz, "\(name): \(error)")
                XCTAssertTrue("\(error)".contains("cannot decompress the gzip file"), "\(name): \(error)")
            }
            XCTAssertGreaterThan(rows, 0, name)
        }
    }
}
