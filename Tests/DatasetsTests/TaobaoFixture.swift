import Foundation
import XCTest
@testable import Datasets

/// Taobao lines, files and a reference encoder for the reader tests, so they run without the
/// shared data.
enum TaobaoFixture {
    /// A line of the shared synthetic sample, to be varied column by column.
    static let base = "0,0,430548_1007,20000,7587,18041,157550,106703,66915,22,4,2,0,3,3,0,2,9704,124353|159233,2"
        .components(separatedBy: ",")

    /// One line: `base` with the named columns replaced.
    static func line(_ overrides: [String: String] = [:]) -> String {
        var columns = base
        for (name, value) in overrides {
            guard let i = Taobao.columnNames.firstIndex(of: name) else { fatalError("no column \(name)") }
            columns[i] = value
        }
        return columns.joined(separator: ",")
    }

    /// `n` varied lines from a seeded generator: both labels, empty values, tag lists of 0 to 5 ids
    /// (some with empty tokens), every price bucket.
    static func lines(_ n: Int, seed: UInt64 = 7) -> [String] {
        var state = seed
        func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        func tags() -> String {
            (0 ..< next(6)).map { _ in next(10) == 0 ? "" : String(next(500)) }.joined(separator: "|")
        }
        return (0 ..< n).map { _ in
            let click = next(5) == 0
            var columns = [click ? "1" : "0", click && next(3) == 0 ? "1" : "0"]
            for _ in 2 ..< 17 { columns.append(next(8) == 0 ? "" : String(next(1000))) }
            columns += [tags(), tags(), String(next(50))]
            return columns.joined(separator: ",")
        }
    }

    /// A fresh directory, removed when the test ends.
    static func directory(_ test: XCTestCase) throws -> String { try CensusFixture.directory(test) }

    /// Writes `text` to a file in a fresh directory and returns its path.
    static func file(_ test: XCTestCase, _ text: String, name: String = Taobao.trainFileName) throws -> String {
        let path = try directory(test) + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Writes `lines`, each followed by a line break.
    static func file(_ test: XCTestCase, lines: [String]) throws -> String {
        try file(test, lines.map { $0 + "\n" }.joined())
    }

    static func error(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> DatasetError? {
        CensusFixture.error(body, file: file, line: line)
    }

    /// The fused-table row of `value` in field `f`, straight from the definition.
    static func row(field f: Int, _ value: String) -> Int32 {
        Int32(Taobao.schema.fieldOffsets[f] + Int(FieldHash.key(field: f, value: value) % UInt64(Taobao.bucketSizes[f])))
    }

    /// The reference encoding of one line: labels and each field's ids, built with Strings.
    static func expected(_ line: String) -> Row {
        let columns = line.components(separatedBy: ",")
        let labels = [Float(columns[0])!, Float(columns[1])!]
        var bags: [[Int32]] = []
        for (f, name) in Taobao.fieldNames.enumerated() {
            let value = columns[Taobao.columnNames.firstIndex(of: name)!]
            switch name {
            case "tag_category_list", "tag_brand_list":
                bags.append(value.split(separator: "|", omittingEmptySubsequences: true).map { row(field: f, String($0)) })
            case "price":
                bags.append([Int32(Taobao.schema.fieldOffsets[f] + Int(value)!)])
            default:
                bags.append([row(field: f, value)])
            }
        }
        return Row(labels: labels, bags: bags)
    }

    /// One row of a `TabularData`, comparable across chunkings.
    struct Row: Equatable, CustomStringConvertible {
        var labels: [Float]
        var bags: [[Int32]]
        var description: String { "labels \(labels) ids \(bags)" }
    }

    static func rows(_ data: TabularData) -> [Row] {
        (0 ..< data.count).map { r in
            Row(labels: data.labels(row: r), bags: (0 ..< data.fieldCount).map { Array(data.ids(row: r, field: $0)) })
        }
    }

    /// Every row `read` hands out, chunk after chunk, and the chunk sizes.
    static func read(_ path: String, byteRange: Range<Int>? = nil, chunkRows: Int = 8192, maxRows: Int? = nil,
                     options: TaobaoOptions = .init()) throws -> (rows: [Row], chunks: [Int]) {
        var rows: [Row] = []
        var chunks: [Int] = []
        try Taobao.read(path: path, byteRange: byteRange, chunkRows: chunkRows, maxRows: maxRows, options: options) { data in
            rows += Self.rows(data)
            chunks.append(data.count)
            return true
        }
        return (rows, chunks)
    }
}
