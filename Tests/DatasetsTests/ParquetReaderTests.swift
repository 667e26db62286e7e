import XCTest
import Foundation
@testable import Datasets

/// The Parquet reader against files pyarrow wrote (`Scripts/make_parquet_fixtures.py`, outputs
/// committed in `Fixtures/parquet/`): every variant of page version, encoding and codec must read
/// back the rows in `expected.json`; the files in `refused/` must be refused with a message that
/// names the file, the column and what is wrong; no damaged file may crash or hang the reader.
final class ParquetReaderTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/parquet").path

    static let variants = [
        "plain_v1_none", "plain_v1_snappy", "dict_v1_snappy", "dict_v1_gzip", "dict_v2_gzip", "plain_v2_none",
        "delta_v2_snappy", "delta_v1_gzip", "small_pages_v1_snappy", "small_pages_v2_none",
    ]

    func path(_ name: String) -> String { (Self.fixtures as NSString).appendingPathComponent(name) }

    func expected() throws -> [String: [Any]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path("expected.json")))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: [Any]])
    }

    /// Every column of every row group, concatenated, as JSON-comparable values.
    func readAll(_ file: ParquetFile) throws -> [String: [Any]] {
        var out: [String: [Any]] = [:]
        for g in 0 ..< file.rowGroupCount {
            let b = try file.numbers(column: "b", rowGroup: g)
            out["b", default: []] += b.values.indices.map { b.nulls?[$0] == true ? NSNull() : (b.values[$0] != 0) as Any }
            out["i32", default: []] += try file.integers(column: "i32", rowGroup: g).values.map { $0 as Any }
            let i64 = try file.integers(column: "i64", rowGroup: g)
            out["i64", default: []] += i64.values.indices.map { i64.nulls?[$0] == true ? NSNull() : i64.values[$0] as Any }
            out["f", default: []] += try file.numbers(column: "f", rowGroup: g).values.map { $0 as Any }
            let d = try file.numbers(column: "d", rowGroup: g)
            out["d", default: []] += d.values.indices.map { d.nulls?[$0] == true ? NSNull() : d.values[$0] as Any }
            out["s", default: []] += try file.strings(column: "s", rowGroup: g).map { $0 ?? NSNull() as Any }
            let li = try file.integerLists(column: "li", rowGroup: g)
            out["li", default: []] += (0 ..< li.offsets.count - 1).map { Array(li.elements[li.offsets[$0] ..< li.offsets[$0 + 1]]) as Any }
            let ls = try file.stringLists(column: "ls", rowGroup: g)
            out["ls", default: []] += (0 ..< ls.offsets.count - 1).map { Array(ls.elements[ls.offsets[$0] ..< ls.offsets[$0 + 1]]) as Any }
        }
        return out
    }

    func testEveryVariantReadsTheRowsPyarrowWrote() throws {
        let want = try expected()
        for name in Self.variants {
            let file = try ParquetFile(path: path(name + ".parquet"))
            XCTAssertEqual(file.rowCount, 50, name)
            XCTAssertEqual(file.rowGroupCount, 3, name)
            XCTAssertEqual(file.columnNames, ["b", "i32", "i64", "f", "d", "s", "li", "ls"], name)
            let got = try readAll(file)
            XCTAssertEqual(got["b"]!.map { ($0 as? Bool).map { "\($0)" } ?? "null" },
                           want["b"]!.map { ($0 as? NSNumber).map { "\($0.boolValue)" } ?? "null" }, "\(name) column b")
            for column in ["i32", "i64", "s"] {
                XCTAssertEqual(got[column]!.map { "\($0)" }, want[column]!.map { "\($0 is NSNull ? NSNull() : $0)" }, "\(name) column \(column)")
            }
            for column in ["f", "d"] {
                let g = got[column]!, w = want[column]!
                XCTAssertEqual(g.count, w.count)
                for (a, b) in zip(g, w) {
                    if b is NSNull { XCTAssertTrue(a is NSNull, "\(name) \(column)") } else {
                        let w = (b as! NSNumber).doubleValue
                        XCTAssertEqual(a as! Double, w, accuracy: abs(w) * 1e-15, "\(name) \(column)")
                    }
                }
            }
            // Lists: a null list and null elements read as no elements.
            let li = want["li"]!.map { ($0 as? [Any] ?? []).compactMap { ($0 as? NSNumber)?.int64Value } }
            XCTAssertEqual(got["li"]!.map { $0 as! [Int64] }, li, "\(name) li")
            let ls = want["ls"]!.map { ($0 as? [Any] ?? []).compactMap { $0 as? String } }
            XCTAssertEqual(got["ls"]!.map { $0 as! [String] }, ls, "\(name) ls")
        }
    }

    func testRefusedFilesNameFileColumnAndReason() throws {
        func refusal(_ name: String, column: String? = nil) -> String {
            let p = path("refused/" + name)
            do {
                let file = try ParquetFile(path: p)
                for c in column.map({ [$0] }) ?? file.columnNames {
                    for g in 0 ..< file.rowGroupCount { _ = try file.numbers(column: c, rowGroup: g) }
                }
                XCTFail("\(name) was read")
                return ""
            } catch {
                XCTAssertTrue("\(error)".hasPrefix(p), "\(error)")
                return "\(error)"
            }
        }
        let zstd = refusal("zstd.parquet", column: "i32")
        XCTAssertTrue(zstd.contains("field i32") && zstd.contains("ZSTD") && zstd.contains("compression='snappy'"), zstd)
        XCTAssertTrue(refusal("lz4.parquet", column: "f").contains("LZ4"))
        XCTAssertTrue(refusal("brotli.parquet", column: "f").contains("BROTLI"))
        let int96 = refusal("int96.parquet")
        XCTAssertTrue(int96.contains("field t") && int96.contains("INT96"), int96)
        let nested = refusal("struct.parquet")
        XCTAssertTrue(nested.contains("point") && nested.contains("struct"), nested)
        XCTAssertTrue(refusal("bad_magic.parquet").contains("not a Parquet file"))
        XCTAssertTrue(refusal("truncated.parquet").contains("cut short"))
    }

    func testEncryptedMagicIsRefused() throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path("plain_v1_none.parquet"))))
        bytes.replaceSubrange(bytes.count - 4 ..< bytes.count, with: Array("PARE".utf8))
        bytes.replaceSubrange(0 ..< 4, with: Array("PARE".utf8))
        XCTAssertThrowsError(try ParquetFile(bytes: bytes, name: "enc.parquet")) {
            XCTAssertTrue("\($0)".contains("encrypted"), "\($0)")
        }
    }

    /// Reads every column of every row group; any error must be a `DatasetError` naming the file.
    func readEverything(_ bytes: [UInt8], name: String) -> Bool {
        do {
            let file = try ParquetFile(bytes: bytes, name: name)
            for g in 0 ..< file.rowGroupCount {
                for c in ["b", "i64", "f", "d"] { _ = try file.numbers(column: c, rowGroup: g) }
                _ = try file.integers(column: "i32", rowGroup: g)
                _ = try file.strings(column: "s", rowGroup: g)
                let li = try file.integerLists(column: "li", rowGroup: g)
                XCTAssertEqual(li.offsets.count, file.rowCount(rowGroup: g) + 1)
                _ = try file.stringLists(column: "ls", rowGroup: g)
            }
            return true
        } catch {
            XCTAssertEqual(error.file, name)
            return false
        }
    }

    func testEveryByteFlippedAndEveryCutGivesAnErrorOrARead() throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path("fuzz_base.parquet"))))
        XCTAssertTrue(readEverything(bytes, name: "base"))
        var refused = 0
        for i in bytes.indices {
            for mask: UInt8 in [0xFF, 0x01, 0x80] {
                var damaged = bytes
                damaged[i] ^= mask
                if !readEverything(damaged, name: "flip") { refused += 1 }
            }
        }
        for n in 0 ..< bytes.count {
            XCTAssertFalse(readEverything(Array(bytes[..<n]), name: "cut"), "a file cut to \(n) bytes was read")
        }
        // Most damage must be noticed (page sizes, Thrift structure, snappy, levels, dictionary indices).
        XCTAssertGreaterThan(refused, bytes.count / 2)
    }

    func testLevelDecodersMatchTheSpecExamples() throws {
        // Encodings.md: the values 0 ... 7 at bit width 3.
        var rle = ByteCursor([0x03, 0b1000_1000, 0b1100_0110, 0b1111_1010][...], what: "test")
        XCTAssertEqual(try RLEHybridDecoder.decode(&rle, count: 8, bitWidth: 3), [0, 1, 2, 3, 4, 5, 6, 7])
        var packed = ByteCursor([0b0000_0101, 0b0011_1001, 0b0111_0111][...], what: "test")
        XCTAssertEqual(try RLEHybridDecoder.decodeBitPacked(&packed, count: 8, bitWidth: 3), [0, 1, 2, 3, 4, 5, 6, 7])
        // An RLE run: 5 times the value 4 at width 3, then a run that is cut short.
        var run = ByteCursor([0x0A, 0x04][...], what: "test")
        XCTAssertEqual(try RLEHybridDecoder.decode(&run, count: 5, bitWidth: 3), [4, 4, 4, 4, 4])
        var cut = ByteCursor([0x0A][...], what: "test")
        XCTAssertThrowsError(try RLEHybridDecoder.decode(&cut, count: 5, bitWidth: 3))
        var zero = ByteCursor([0x00, 0x00][...], what: "test")
        XCTAssertThrowsError(try RLEHybridDecoder.decode(&zero, count: 1, bitWidth: 1))  // a run of no values: no endless loop
    }

    func testDeltaBinaryPackedSpecExample() throws {
        // Encodings.md, example 1: 1 2 3 4 5 -> header (128, 4 miniblocks, 5 values, first 1),
        // block (min delta 1, widths 0 0 0 0), no packed bits.
        var c = ByteCursor([0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0, 0, 0, 0][...], what: "test")
        XCTAssertEqual(try DeltaDecoders.binaryPacked(&c, expected: 5), [1, 2, 3, 4, 5])
        XCTAssertTrue(c.isAtEnd)
        var wrongCount = ByteCursor([0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0, 0, 0, 0][...], what: "test")
        XCTAssertThrowsError(try DeltaDecoders.binaryPacked(&wrongCount, expected: 6))
    }

    func testThriftSkipsUnknownFieldsAndRefusesDeepNesting() throws {
        // struct { 1: i32 = 5, 2: struct { 1: list<i32> [1, 2] }, 3: bool true } then stop
        let bytes: [UInt8] = [0x15, 0x0A, 0x1C, 0x19, 0x25, 0x02, 0x04, 0x00, 0x11, 0x00]
        var t = ThriftCompactReader(bytes[...])
        try t.beginStruct()
        var ids: [Int] = []
        while let f = try t.readFieldHeader() {
            ids.append(f.id)
            try t.skip(f.type)
        }
        XCTAssertEqual(ids, [1, 2, 3])
        XCTAssertEqual(t.consumed, bytes.count)
        var deep = ThriftCompactReader([UInt8](repeating: 0x1C, count: 200)[...])
        XCTAssertThrowsError(try deep.skip(.structure))
    }
}
