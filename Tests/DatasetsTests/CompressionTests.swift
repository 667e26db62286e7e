import XCTest
import Foundation
@testable import Datasets

/// Our inflate, gzip framing and snappy against streams the real tools made (Python's gzip and
/// zlib modules, in `Fixtures/parquet/`; pyarrow's snappy through the Parquet fixtures), and
/// against damage: a cut or altered stream is an error, never a crash, a hang or short data.
final class CompressionTests: XCTestCase {
    static let fixtures = ParquetReaderTests.fixtures

    func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: (Self.fixtures as NSString).appendingPathComponent(name))))
    }

    func reference() throws -> (length: Int, crc: UInt32, head: [UInt8]) {
        let json = try JSONSerialization.jsonObject(with: Data(try bytes("text.sha.json"))) as! [String: Any]
        return ((json["length"] as! NSNumber).intValue, (json["crc32"] as! NSNumber).uint32Value, try bytes("text.txt"))
    }

    func testCRC32CheckValue() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)
        var running = CRC32()
        running.update(Array("1234".utf8))
        running.update(Array("56789".utf8))
        XCTAssertEqual(running.value, 0xCBF4_3926)
    }

    func testGzipFilesFromPythonDecompress() throws {
        let want = try reference()
        for name in ["text.txt.gz", "text_level1.gz"] {
            let out = try GzipDecoder.decompress(try bytes(name))
            XCTAssertEqual(out.count, want.length, name)
            XCTAssertEqual(CRC32.checksum(out), want.crc, name)
            XCTAssertEqual(Array(out.prefix(want.head.count)), want.head, name)
        }
        let stored = try Inflater.inflate(try bytes("text_stored.deflate"))
        XCTAssertEqual(CRC32.checksum(stored), want.crc)
        XCTAssertEqual(try GzipDecoder.decompress(try bytes("two_members.gz")), Array("first member\nsecond member\n".utf8))
    }

    func testGzipInSmallPiecesMatchesWhole() throws {
        let gz = try bytes("text.txt.gz")
        var offset = 0
        var decoder = GzipDecoder { () throws(CompressionError) -> [UInt8]? in
            guard offset < gz.count else { return nil }
            let piece = Array(gz[offset ..< min(offset + 7, gz.count)])
            offset += piece.count
            return piece
        }
        var out: [UInt8] = []
        while let piece = try decoder.next(minimum: 1000) { out += piece }
        XCTAssertEqual(CRC32.checksum(out), try reference().crc)
    }

    func testCutOrAlteredGzipIsAnError() throws {
        let gz = try bytes("text.txt.gz")
        for n in stride(from: 0, to: gz.count, by: 97) + [gz.count - 1, gz.count - 4, gz.count - 8] {
            XCTAssertThrowsError(try GzipDecoder.decompress(Array(gz[..<n])), "cut to \(n) bytes")
        }
        var silent = 0
        for i in stride(from: 10, to: gz.count, by: 13) {
            var damaged = gz
            damaged[i] ^= 0x55
            if (try? GzipDecoder.decompress(damaged)) != nil { silent += 1 }
        }
        XCTAssertEqual(silent, 0, "altered bytes read back without an error")
        XCTAssertThrowsError(try GzipDecoder.decompress(gz + [0, 0, 0])) { XCTAssertEqual($0 as? CompressionError, .trailingData) }
        XCTAssertThrowsError(try GzipDecoder.decompress(Array("plain text".utf8))) { XCTAssertEqual($0 as? CompressionError, .notGzip) }
    }

    func testMalformedDeflateBlocks() {
        // Block type 3 does not exist.
        XCTAssertThrowsError(try Inflater.inflate([0x07])) { XCTAssertEqual($0 as? CompressionError, .invalidBlockType) }
        // A stored block whose LEN and NLEN disagree.
        XCTAssertThrowsError(try Inflater.inflate([0x01, 0x05, 0x00, 0x00, 0x00])) { XCTAssertEqual($0 as? CompressionError, .storedLengthMismatch) }
        // A fixed block copying from before the start: literal-free length 3, distance 1.
        XCTAssertThrowsError(try Inflater.inflate([0x03, 0x02])) { XCTAssertEqual($0 as? CompressionError, .distanceTooFarBack) }
        // The empty fixed block (just end-of-block) is valid.
        XCTAssertEqual(try Inflater.inflate([0x03, 0x00]), [])
    }

    func testSnappyMalformedInput() throws {
        // "abcabcabc": literal "abc", then a copy of 6 from offset 3 (tag 01: length 4 + 2).
        XCTAssertEqual(try Snappy.decompress([0x09, 0x08, 0x61, 0x62, 0x63, 0x09, 0x03][...]), Array("abcabcabc".utf8))
        let bad: [[UInt8]] = [
            [0x09, 0x08, 0x61, 0x62, 0x63, 0x09, 0x04],  // offset before the start
            [0x09, 0x08, 0x61, 0x62, 0x63, 0x09, 0x00],  // offset 0
            [0x09, 0x08, 0x61, 0x62],  // literal cut short
            [0x02, 0x08, 0x61, 0x62, 0x63],  // more than declared
            [0x05, 0x08, 0x61, 0x62, 0x63],  // less than declared
            [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],  // preamble too long
            [0xFF, 0xFF, 0xFF, 0xFF, 0x0F],  // a 4 GB claim from 5 bytes
        ]
        for b in bad { XCTAssertThrowsError(try Snappy.decompress(b[...]), "\(b)") }
    }

    /// The `.gz` text readers use our decoder: a cut Census file is refused, naming it.
    func testTruncatedCensusGzipIsRefusedNamingTheFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gz-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let gz = try bytes("text.txt.gz")
        let path = (dir as NSString).appendingPathComponent("cut.gz")
        try Data(gz[..<(gz.count / 2)]).write(to: URL(fileURLWithPath: path))
        let reader = try ChunkReader(path: path)
        XCTAssertThrowsError(try { while try reader.read() != nil {} }()) { error in
            XCTAssertTrue("\(error)".hasPrefix(path), "\(error)")
            XCTAssertTrue("\(error)".contains("gzip"), "\(error)")
        }
        let whole = (dir as NSString).appendingPathComponent("whole.gz")
        try Data(gz).write(to: URL(fileURLWithPath: whole))
        let full = try ChunkReader(path: whole, chunkSize: 4096)
        var out: [UInt8] = []
        while let piece = try full.read() { out += piece }
        XCTAssertEqual(CRC32.checksum(out), try reference().crc)
    }
}
