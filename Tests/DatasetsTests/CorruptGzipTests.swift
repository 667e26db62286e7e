import XCTest
import Foundation
@testable import Datasets

/// Issue 19, defect 1: a truncated or corrupt `.gz` data file is refused naming the file, whatever
/// decompresses it. The archives are built here byte by byte (stored deflate blocks, CRC-32 and
/// size trailer), so the test needs no tool and does not depend on how the reader inflates.
final class CorruptGzipTests: XCTestCase {
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    /// A gzip member holding `payload` in stored deflate blocks of at most 1000 bytes.
    static func gzip(_ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]
        var start = 0
        repeat {
            let end = min(payload.count, start + 1000)
            let n = UInt16(end - start)
            out.append(end == payload.count ? 1 : 0)
            out += [UInt8(n & 0xff), UInt8(n >> 8), UInt8(~n & 0xff), UInt8(~n >> 8)]
            out += payload[start..<end]
            start = end
        } while start < payload.count
        func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xff) } }
        return out + le32(crc32(payload)) + le32(UInt32(truncatingIfNeeded: payload.count))
    }

    func directory(trainGz: [UInt8]) throws -> String {
        let dir = try CensusFixture.directory(self)
        try Data(trainGz).write(to: URL(fileURLWithPath: dir + "/census-income.data.gz"))
        try CensusFixture.write((0..<10).map { _ in CensusFixture.line() }.joined(separator: "\n") + "\n", to: dir + "/census-income.test")
        return dir
    }

    func lines(_ n: Int) -> [UInt8] {
        Array(((0..<n).map { CensusFixture.line(["age": "\(20 + $0 % 50)"]) }.joined(separator: "\n") + "\n").utf8)
    }

    func testAnIntactArchiveLoads() throws {
        let dir = try directory(trainGz: Self.gzip(lines(40)))
        XCTAssertEqual(try CensusIncome.load(directory: dir).train.count, 40)
    }

    func testATruncatedArchiveIsRefusedNamingTheFile() throws {
        let whole = Self.gzip(lines(40))
        for cut in [whole.count / 2, whole.count - 4, whole.count - 8] {
            let dir = try directory(trainGz: Array(whole[0..<cut]))
            XCTAssertThrowsError(try CensusIncome.load(directory: dir), "cut at \(cut) of \(whole.count)") { error in
                XCTAssertTrue("\(error)".contains("census-income.data.gz"), "\(error)")
            }
        }
    }

    func testACorruptChecksumIsRefusedNamingTheFile() throws {
        var bytes = Self.gzip(lines(40))
        bytes[bytes.count - 6] ^= 0x5a
        let dir = try directory(trainGz: bytes)
        XCTAssertThrowsError(try CensusIncome.load(directory: dir)) { error in
            XCTAssertTrue("\(error)".contains("census-income.data.gz"), "\(error)")
        }
    }
}
