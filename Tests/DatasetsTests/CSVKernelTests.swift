import XCTest
import Foundation
@testable import Datasets

/// The schema reader's word-at-a-time kernels against plain byte loops: short decimals read from
/// one word, the SWAR digit reduction, the memo of values (long values, values at the end of the
/// buffer, a field whose memo turns off), and blocks of records reusing their storage.
final class CSVKernelTests: XCTestCase {
    /// A plain decimal read byte by byte, as `DecimalParser`'s fast path reads it: an optional sign,
    /// digits with at most one point, at most 15 digits; nil for anything else.
    func reference(_ text: [UInt8]) -> Double? {
        var i = 0, negative = false
        if i < text.count && (text[i] == UInt8(ascii: "-") || text[i] == UInt8(ascii: "+")) {
            negative = text[i] == UInt8(ascii: "-")
            i += 1
        }
        var digits: [UInt8] = [], fraction = 0, point = false
        while i < text.count {
            if text[i] >= UInt8(ascii: "0") && text[i] <= UInt8(ascii: "9") {
                digits.append(text[i] - UInt8(ascii: "0"))
                if point { fraction += 1 }
            } else if text[i] == UInt8(ascii: "."), !point {
                point = true
            } else {
                return nil
            }
            i += 1
        }
        guard !digits.isEmpty, digits.count <= 15 else { return nil }
        let mantissa = digits.reduce(UInt64(0)) { $0 * 10 + UInt64($1) }
        let magnitude = Double(mantissa) / CSVKernels.exactPowers[fraction]
        return negative ? -magnitude : magnitude
    }

    /// `decimal` (one word for short values, `plainDecimal` otherwise) and `shortDecimal` alone on
    /// every string of up to 3 bytes over digits, point, signs and a letter, and on random strings of
    /// up to 17 bytes, placed at every offset of a buffer: the reference's value, bit for bit.
    func testDecimalsMatchAByteLoop() {
        let alphabet = Array("0123456789.-+x".utf8)
        var cases: [[UInt8]] = [[]]
        for length in 1 ... 3 {
            cases += cases.filter { $0.count == length - 1 }.flatMap { prefix in alphabet.map { prefix + [$0] } }
        }
        var seed: UInt64 = 5
        func next(_ n: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(n))
        }
        let digitsOnly = Array("0123456789".utf8)
        for _ in 0 ..< 20_000 {
            let length = 1 + next(17)
            var text = (0 ..< length).map { _ in next(8) == 0 ? alphabet[next(alphabet.count)] : digitsOnly[next(10)] }
            if next(2) == 0, length > 1 { text[next(length)] = UInt8(ascii: ".") }
            cases.append(text)
        }
        var shortTaken = 0
        for text in cases where !text.isEmpty {
            let expected = reference(text)
            let pad = next(9)
            let buffer = [UInt8](repeating: UInt8(ascii: ","), count: pad) + text + [UInt8](repeating: UInt8(ascii: "7"), count: 8)
            buffer.withUnsafeBufferPointer { b in
                let base = b.baseAddress!
                let lo = pad, hi = pad + text.count
                let got = CSVKernels.decimal(base, lo, hi, b.count, CSVKernels.powerTable, CSVKernels.memoMasks)
                XCTAssertEqual(got?.bitPattern, expected?.bitPattern, "\(String(decoding: text, as: UTF8.self))")
                // Only the bytes of the field count, not the digits after it.
                XCTAssertEqual(CSVKernels.decimal(base, lo, hi, hi, CSVKernels.powerTable, CSVKernels.memoMasks)?.bitPattern, expected?.bitPattern)
                if text.count <= 8, let short = CSVKernels.shortDecimal(base, lo, text.count, CSVKernels.powerTable, CSVKernels.memoMasks) {
                    shortTaken += 1
                    XCTAssertEqual(short.bitPattern, expected?.bitPattern, "\(String(decoding: text, as: UTF8.self))")
                } else if text.count <= 8, let expected, text.first != UInt8(ascii: "-"), text.first != UInt8(ascii: "+") {
                    XCTFail("shortDecimal declined the unsigned decimal \(String(decoding: text, as: UTF8.self)) = \(expected)")
                }
            }
        }
        XCTAssertGreaterThan(shortTaken, 5000)
    }

    /// The SWAR reduction of 8 digits against a multiply per digit.
    func testEightDigitsMatchesAMultiplyPerDigit() {
        var seed: UInt64 = 11
        for _ in 0 ..< 10_000 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            let digits = (0 ..< 8).map { UInt64((seed >> (8 + 6 * UInt64($0))) % 10) }
            let word = digits.enumerated().reduce(UInt64(0)) { $0 | $1.element << (8 * UInt64($1.offset)) }
            XCTAssertEqual(CSVKernels.eightDigits(word), digits.reduce(0) { $0 * 10 + $1 })
        }
        XCTAssertEqual(CSVKernels.eightDigits(0x0909_0909_0909_0909), 99_999_999)
    }

    /// Keys through the memo equal `FieldHash`'s for values of every length from 0 to 60 bytes, at
    /// the end of the buffer too; a field of repeated values keeps its memo on, a field of distinct
    /// values turns it off (and its keys stay `FieldHash`'s).
    func testMemoKeysAreFieldHashKeys() {
        let memo = CSVKernels.MemoTable(features: 2)
        func spec(_ f: Int) -> CSVKernels.FieldSpec {
            CSVKernels.FieldSpec(column: 0, seed: FieldHash.seed(field: f), buckets: 8, mask: 7, powerOfTwo: true, offset: 0, isTags: false, separator: 0)
        }
        func key(_ f: Int, _ value: [UInt8], tail: Int) -> UInt64 {
            let buffer = [UInt8(ascii: "#")] + value + [UInt8](repeating: UInt8(ascii: "~"), count: tail)
            return buffer.withUnsafeBufferPointer { b in
                let key = CSVKernels.key(spec(f), b.baseAddress!, 1, 1 + value.count, b.count, memo.entries + f * CSVKernels.memoSlots, memo.states + f,
                                         CSVKernels.memoMasks)
                // As `hashFields` counts records (one value per record here).
                memo.records.pointee += 1
                if memo.records.pointee >= CSVKernels.memoWindow { memo.review() }
                return key
            }
        }
        let repeated = (0 ... 60).map { length in Array((0 ..< length).map { UInt8(ascii: "a") + UInt8(($0 * 7 + length) % 26) }) }
        for round in 0 ..< 40 {
            for value in repeated {
                let expected = FieldHash.key(field: 0, value, value.indices)
                XCTAssertEqual(key(0, value, tail: round % 3 == 0 ? 0 : 64), expected, "length \(value.count)")
            }
        }
        XCTAssertTrue(memo.states[0].on, "a field of few values keeps its memo")
        for i in 0 ..< 3 * CSVKernels.memoWindow {
            let value = Array("user-\(i * 7919)".utf8)
            XCTAssertEqual(key(1, value, tail: 64), FieldHash.key(field: 1, value, value.indices))
        }
        XCTAssertFalse(memo.states[1].on, "a field of distinct values turns its memo off")
    }

    /// Blocks that `body` keeps stay as they were while the reader fills the next ones (the reader
    /// reuses a block's storage only when no copy of it is kept).
    func testKeptBlocksKeepTheirRecords() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("csv-kernels-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("blocks.csv").path
        let records = (0 ..< 1000).map { "row\($0),\(String(repeating: "v", count: $0 % 17))" }
        try Data(records.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: path))
        var kept: [LineBlock] = []
        var seen: [String] = []
        try ChunkReader(path: path, chunkSize: 333).forEachRecordBlock(quote: UInt8(ascii: "\""), count: 37) { block throws(DatasetError) in
            kept.append(block)
            for line in block.lines { seen.append(String(decoding: block.bytes[line], as: UTF8.self)) }
            return true
        }
        XCTAssertEqual(seen, records)
        XCTAssertEqual(kept.flatMap { block in block.lines.map { String(decoding: block.bytes[$0], as: UTF8.self) } }, records)
    }
}
