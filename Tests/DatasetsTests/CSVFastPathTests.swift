import XCTest
import Foundation
@testable import Datasets

/// The schema reader's fast path (`CSVKernels`, `SchemaEncoding.encodeFast`) against its checked
/// path on the same records: the same bits for every kind, transform and label type, quoted
/// records and records the fast path hands over; and the record scan across chunk boundaries.
final class CSVFastPathTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("csv-fast-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    func read(_ schema: DataSchema, _ path: String, fast: Bool, keepKeys: Bool = true, chunkRows: Int = 64) throws -> TabularData {
        var reader = SchemaReader(schema: schema, keepKeys: keepKeys)
        reader.fastPath = fast
        var parts: [TabularData] = []
        try reader.read(.file(path), chunkRows: chunkRows) { parts.append($0); return true }
        return TabularData.concatenating(parts)!
    }

    static let schemaJSON = """
        {"features": [
          {"name": "a", "kind": "dense"},
          {"name": "b", "kind": "dense", "transform": "log1p", "default": 2},
          {"name": "c", "kind": "dense", "transform": "minmax"},
          {"name": "s1", "kind": "sparse", "buckets": 64},
          {"name": "s2", "kind": "sparse", "buckets": 1000},
          {"name": "t", "kind": "tags", "separator": "|", "buckets": 16},
          {"name": "s3", "kind": "sparse", "buckets": 7}],
         "tasks": [{"name": "y"}, {"name": "z", "positive": ["yes"]}, {"name": "r", "type": "regression"}]}
        """

    /// Records with every value shape: plain and signed decimals, long and exponent numbers (the
    /// checked path's), empty cells, spaces to trim, empty and spaced tags, labels 0/1/true/empty,
    /// some records quoted, CRLF line ends, fields of every length from 0 to 40 bytes, and a column of
    /// many distinct values.
    func generated(rows: Int) -> String {
        var seed: UInt64 = 12345
        func next(_ n: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(n))
        }
        let numbers = ["0", "7", "-3", "+2.5", "12.75", "", " 4 ", "1234567.125", "0.000001", "1e3", "12345678901234567", "-0", "5."]
        let positive = numbers.filter { !$0.hasPrefix("-") }  // for log1p
        // Values that differ only past their first 8, 16 or 31 bytes, of 32 and 33 bytes (the memo
        // of values keeps those of at most 32).
        let words = ["", "x", "ab", "Private", "Not in universe", " spaced ", "eight888", "nine99999", "sixteen-bytes-16", "sixteen-bytes-17",
                     "a b c", "eight888x", String(repeating: "q", count: 32), String(repeating: "q", count: 31) + "r", String(repeating: "q", count: 33)]
        let tags = ["", "p", "p|q", "p||q", " p | q ", "|", "long-tag-value|other|x"]
        let binary = ["0", "1", "", "true", "0.0", " 1"]
        var text = "s2,a,t,y,b,s1,r,c,z,s3\r\n"
        for i in 0 ..< rows {
            var fields = [words[next(words.count)], numbers[next(numbers.count)], tags[next(tags.count)], binary[next(binary.count)],
                          positive[next(positive.count)], words[next(words.count)], numbers[next(numbers.count)].trimmingCharacters(in: .whitespaces),
                          numbers[next(numbers.count)], ["yes", "no", ""][next(3)], String(repeating: "w", count: next(41))]
            if fields[6].isEmpty || fields[6] == "5." { fields[6] = "1" }
            if i % 3 == 0 { fields[0] = "id\(next(1000))" }  // more distinct values than the memo holds
            if i % 9 == 4 { fields[0] = "\"quoted, \"\"\(fields[0])\"\"\"" }
            if i % 13 == 6 { fields[5] = "\"two\nlines\"" }
            text += fields.joined(separator: ",") + (i % 2 == 0 ? "\r\n" : "\n")
        }
        return text
    }

    func testFastPathGivesTheCheckedPathsBits() throws {
        let path = try write("mixed.csv", generated(rows: 600))
        let fitted = try SchemaScan(schema: try DataSchema(json: Data(Self.schemaJSON.utf8), file: "schema.json"), paths: [path], keepRows: false).schema
        let fast = try read(fitted, path, fast: true)
        let checked = try read(fitted, path, fast: false)
        XCTAssertEqual(fast.count, 600)
        XCTAssertEqual(fast.count, checked.count)
        XCTAssertEqual(fast.dense.map(\.bitPattern), checked.dense.map(\.bitPattern))
        XCTAssertEqual(fast.labels.map(\.bitPattern), checked.labels.map(\.bitPattern))
        XCTAssertEqual(fast.ids, checked.ids)
        XCTAssertEqual(fast.keys, checked.keys)
        XCTAssertEqual(fast.bagOffsets, checked.bagOffsets)
        // Without keys, the same ids.
        XCTAssertEqual(try read(fitted, path, fast: true, keepKeys: false).ids, checked.ids)
    }

    /// In blocks long enough for a memo to turn off: a column of distinct ids, a column of few values
    /// up to 50 bytes long (past the memo's 48), and dense values of every short form (one word) and
    /// longer ones; the fast path's bits are the checked path's.
    func testHighCardinalityAndLongValuesGiveTheCheckedPathsBits() throws {
        var seed: UInt64 = 77
        func next(_ n: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(n))
        }
        let long = (44 ... 50).map { String(repeating: "L", count: $0 - 1) + "\($0)" }
        let numbers = ["0", "7", ".5", "5.", "12345678", "1234567.", "123456789", "-1.5", "+3", "4905.49", "0.000001", "99.99999", ""]
        var text = "id,cat,x,y\n"
        for i in 0 ..< 3000 {
            text += "u\(i &* 2654435761 % 1_000_003),\(long[next(long.count)]),\(numbers[next(numbers.count)]),\(next(2))\n"
        }
        let path = try write("ids.csv", text)
        let schema = try DataSchema(json: Data("""
            {"features": [{"name": "id", "kind": "sparse", "buckets": 1000000}, {"name": "cat", "kind": "sparse", "buckets": 64},
                          {"name": "x", "kind": "dense", "transform": "standardize"}],
             "tasks": [{"name": "y"}]}
            """.utf8), file: "schema.json")
        let fitted = try SchemaScan(schema: schema, paths: [path], keepRows: false).schema
        let fast = try read(fitted, path, fast: true, chunkRows: 4096)
        let checked = try read(fitted, path, fast: false, chunkRows: 4096)
        XCTAssertEqual(fast.count, 3000)
        XCTAssertEqual(fast.dense.map(\.bitPattern), checked.dense.map(\.bitPattern))
        XCTAssertEqual(fast.labels.map(\.bitPattern), checked.labels.map(\.bitPattern))
        XCTAssertEqual(fast.ids, checked.ids)
        XCTAssertEqual(fast.keys, checked.keys)
    }

    /// The fast path takes plain records itself, and hands quoted ones, wrong field counts and values
    /// it does not parse to the checked path.
    func testFastPathTakesPlainRecordsAndHandsOverTheRest() throws {
        let schema = try DataSchema(json: Data(Self.schemaJSON.utf8), file: "schema.json")
        let names = ["s2", "a", "t", "y", "b", "s1", "r", "c", "z", "s3"]
        let layout = try SchemaLayout(schema: schema, first: names, file: "f", line: 1, labelsRequired: true)
        var encoding = SchemaEncoding(plan: SchemaEncoding.Plan(schema: schema, layout: layout, keepKeys: false))
        func fast(_ record: String) -> Int? {
            let bytes = Array(record.utf8)
            return encoding.encodeFast(bytes, bytes.indices)
        }
        XCTAssertEqual(fast("Private,1,p|q,1,2.5,x,3,4,yes,www"), 5)  // two tags: one id more than the four fields
        XCTAssertEqual(fast("Private,1,,1,2.5,x,3,4,yes,www"), 3)  // an empty tag list has no id
        XCTAssertNil(fast("\"Private\",1,p,1,2.5,x,3,4,yes,www"))
        XCTAssertNil(fast("Private,1,p,1,2.5,x,3,4,yes"))
        XCTAssertNil(fast("Private,1,p,1,2.5,x,3,4,yes,www,extra"))
        XCTAssertNil(fast("Private,1e3,p,1,2.5,x,3,4,yes,www"))
        XCTAssertNil(fast("Private,1,p,2,2.5,x,3,4,yes,www"))
        XCTAssertNil(fast("Private,1,p,1,-1,x,3,4,yes,www"))  // log1p(-1): the checked path's error
        XCTAssertEqual(encoding.count, 0, "encodeFast alone appends no row")
    }

    /// The word-at-a-time split on records of every length from 0 to 40 with delimiters at every
    /// position, runs of empty fields (several delimiters in one 8-byte word), and too many fields.
    func testSplitUnquotedMatchesAByteSplit() {
        var seed: UInt64 = 99
        for length in 0 ... 40 {
            for _ in 0 ..< 20 {
                let record: [UInt8] = (0 ..< length).map { _ in
                    seed = seed &* 6364136223846793005 &+ 1442695040888963407
                    return (seed >> 60) < 6 ? UInt8(ascii: ";") : UInt8(ascii: "a") + UInt8(seed >> 59 & 7)
                }
                let bytes = [UInt8(ascii: "x")] + record + [UInt8(ascii: ";")]  // the record sits inside a larger buffer
                let expected = record.enumerated().filter { $0.element == UInt8(ascii: ";") }.map { $0.offset + 1 } + [length + 1]
                for limit in [expected.count, expected.count - 1] where limit >= 1 {
                    var ends = [Int](repeating: -7, count: limit + 2)
                    let n = bytes.withUnsafeBufferPointer { b in
                        ends.withUnsafeMutableBufferPointer { e in
                            CSVKernels.splitUnquoted(b, start: 1, end: 1 + length, delimiter: UInt8(ascii: ";"), quote: UInt8(ascii: "\""), ends: e, limit: limit)
                        }
                    }
                    if limit == expected.count {
                        XCTAssertEqual(n, expected.count)
                        XCTAssertEqual(Array(ends[0 ..< expected.count]), expected, "\(String(decoding: record, as: UTF8.self))")
                    } else {
                        XCTAssertEqual(n, -2, "more fields than the limit")
                    }
                }
                var quoted = bytes
                if length > 0 {
                    quoted[1 + Int(seed % UInt64(length))] = UInt8(ascii: "\"")
                    var ends = [Int](repeating: 0, count: 64)
                    let n = quoted.withUnsafeBufferPointer { b in
                        ends.withUnsafeMutableBufferPointer { e in
                            CSVKernels.splitUnquoted(b, start: 1, end: 1 + length, delimiter: UInt8(ascii: ";"), quote: UInt8(ascii: "\""), ends: e, limit: 60)
                        }
                    }
                    XCTAssertEqual(n, -1, "a quote sends the record to the quoted path")
                }
            }
        }
    }

    /// Records and their line numbers do not depend on where the chunks of the file end (quotes,
    /// line breaks inside quotes, CRLF and blank lines cut at every offset).
    func testRecordsDoNotDependOnChunkBoundaries() throws {
        let text = "h1,h2\r\n1,\"a\r\nb\"\r\n\r\n2,\"x\"\"y\"\n3,\"\"\n\"4\n\n\",z\n5,w"
        let path = try write("records.csv", text)
        func records(chunkSize: Int) throws -> [(String, Int)] {
            var out: [(String, Int)] = []
            try ChunkReader(path: path, chunkSize: chunkSize).forEachRecordBlock(quote: UInt8(ascii: "\""), count: 2) { block throws(DatasetError) in
                for i in block.lines.indices { out.append((String(decoding: block.bytes[block.lines[i]], as: UTF8.self), block.number(i))) }
                return true
            }
            return out
        }
        let expected: [(String, Int)] = [("h1,h2", 1), ("1,\"a\r\nb\"", 2), ("", 4), ("2,\"x\"\"y\"", 5), ("3,\"\"", 6), ("\"4\n\n\",z", 7), ("5,w", 10)]
        for size in [1, 2, 3, 5, 7, 8, 13, 1 << 20] {
            let found = try records(chunkSize: size)
            XCTAssertEqual(found.map(\.0), expected.map(\.0), "chunk size \(size)")
            XCTAssertEqual(found.map(\.1), expected.map(\.1), "chunk size \(size)")
        }
    }
}
