import XCTest
import Foundation
import Tensor
@testable import Datasets

/// The built-in Census schema (`CensusTaskGroup.schema`) read by the schema reader, as
/// `CensusIncome.load` now reads it, gives the former built-in Census line parser's rows and
/// encoder (`ReferenceCensusReader`, kept in the tests), bit for bit: on generated Census-shaped lines (with
/// values unseen in training, test values outside the training range, a column constant in
/// training, capacities smaller than a field's values) and on the shared real files when present.
final class CensusSchemaTests: XCTestCase {
    /// Census-shaped lines: each column drawn from a few values, decimals included, so both splits
    /// share most values and the test split has some of its own.
    static func lines(count: Int, seed: UInt64, test: Bool) -> [String] {
        var state = seed
        func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
        let dense = Set(CensusIncome.denseNames)
        return (0 ..< count).map { _ in
            var fields: [String] = []
            for name in CensusIncome.columnNames {
                switch name {
                case "income_50k": fields.append(next(4) == 0 ? "50000+" : "- 50000")
                case "marital_stat": fields.append(["Never married", "Divorced", "Married-civilian spouse present"][next(3)])
                case "education": fields.append((CensusTaskGroup.bachelorOrHigher + ["Children", "High school graduate"])[next(6)])
                case "year": fields.append(test ? "94" : "95")  // constant in training: scales to 0
                case "instance_weight": fields.append(String(format: "%.2f", Double(next(300_000)) / 100 + (test ? 500 : 0)))
                case "age": fields.append(String(next(test ? 120 : 90) - (test ? 10 : 0)))
                case _ where dense.contains(name): fields.append(String(next(50)))
                case "class_worker": fields.append("worker \(next(test ? 14 : 12))")  // 12 values, more than its capacity of 9
                default: fields.append(next(5) == 0 ? "?" : "\(name) value \(next(test ? 6 : 4))")
                }
            }
            return fields.joined(separator: ", ") + "."
        }
    }

    func write(_ train: [String], _ test: [String]) throws -> String {
        let directory = try CensusFixture.directory(self)
        try CensusFixture.write(train.joined(separator: "\n") + "\n", to: directory + "/census-income.data")
        try CensusFixture.write(test.joined(separator: "\n") + "\n\n", to: directory + "/census-income.test")
        return directory
    }

    /// The schema reader's train and test rows and fitted schema, as the commands would read them.
    func readWithSchema(_ directory: String, group: CensusTaskGroup, keepKeys: Bool, chunkRows: Int = 8192)
        throws -> (schema: DataSchema, train: TabularData, test: TabularData) {
        let files = CensusIncome.files(in: directory)!
        let scan = try SchemaScan(schema: group.schema(), paths: [files.train], keepRows: true, keepKeys: keepKeys)
        var parts: [TabularData] = []
        try SchemaReader(schema: scan.schema, keepKeys: keepKeys).read(.file(files.test!), chunkRows: chunkRows) { parts.append($0); return true }
        return (scan.schema, scan.data!, TabularData.concatenating(parts)!)
    }

    func assertIdentical(_ a: TabularData, _ b: TabularData, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, "\(what): rows", file: file, line: line)
        // The first difference only: whole arrays of 200,000 rows would flood the log.
        func same<T: Equatable>(_ x: [T]?, _ y: [T]?, _ name: String) {
            guard let x, let y else { return XCTAssertTrue(x == nil && y == nil, "\(what): \(name) kept by one reader only", file: file, line: line) }
            XCTAssertEqual(x.count, y.count, "\(what): \(name) count", file: file, line: line)
            if let i = (0 ..< min(x.count, y.count)).first(where: { x[$0] != y[$0] }) {
                XCTFail("\(what): \(name) differ first at \(i): \(x[i]) against \(y[i])", file: file, line: line)
            }
        }
        same(a.dense.map(\.bitPattern), b.dense.map(\.bitPattern), "dense bits")
        same(a.ids, b.ids, "ids")
        same(a.labels.map(\.bitPattern), b.labels.map(\.bitPattern), "labels")
        same(a.keys, b.keys, "keys")
        XCTAssertNil(b.bagOffsets, "\(what): one id per field", file: file, line: line)
        XCTAssertEqual(a.taskNames, b.taskNames, file: file, line: line)
    }

    /// The fitted schema holds the built-in encoder's state: the vocabularies, the dense ranges
    /// and the fused-table layout.
    func assertSameEncoder(_ encoder: CensusEncoder, _ schema: DataSchema, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(schema.fieldFeatures.map { $0.values ?? [] }, encoder.values, "vocabularies", file: file, line: line)
        XCTAssertEqual(schema.featureSchema, encoder.schema, "table layout", file: file, line: line)
        for (d, feature) in schema.denseFeatures.enumerated() {
            XCTAssertEqual(feature.statistics?.shift, Double(encoder.denseMin[d]), feature.name, file: file, line: line)
            XCTAssertEqual(feature.statistics.map { $0.shift + $0.scale }, Double(encoder.denseMax[d]), feature.name, file: file, line: line)
        }
    }

    func testGeneratedLinesBitIdenticalToTheBuiltInReader() throws {
        let directory = try write(Self.lines(count: 1500, seed: 1, test: false), Self.lines(count: 700, seed: 2, test: true))
        for group in CensusTaskGroup.allCases {
            for keepKeys in [false, true] {
                let builtin = try ReferenceCensusReader.load(directory: directory, tasks: group, keepKeys: keepKeys)
                XCTAssertFalse(builtin.warnings.isEmpty, "class_worker outgrows its capacity")
                let read = try readWithSchema(directory, group: group, keepKeys: keepKeys, chunkRows: 100)
                assertIdentical(builtin.train, read.train, "\(group) train, keys \(keepKeys)")
                assertIdentical(builtin.test, read.test, "\(group) test, keys \(keepKeys)")
                assertSameEncoder(builtin.encoder, read.schema)
                // The commands' load, which reads through the same schema.
                let loaded = try CensusIncome.load(directory: directory, tasks: group, keepKeys: keepKeys)
                assertIdentical(builtin.train, loaded.train, "\(group) loaded train, keys \(keepKeys)")
                assertIdentical(builtin.test, loaded.test, "\(group) loaded test, keys \(keepKeys)")
                XCTAssertEqual(loaded.encoder, builtin.encoder)
                XCTAssertEqual(loaded.warnings, builtin.warnings)
            }
        }
        // The test split really exercises the unseen rows and the clipping.
        let builtin = try ReferenceCensusReader.load(directory: directory)
        let unknown = (0 ..< builtin.encoder.schema.fieldNames.count).map { Int32(builtin.encoder.schema.unknownRow(field: $0)) }
        XCTAssertTrue(builtin.test.ids.contains { unknown.contains($0) })
        XCTAssertTrue(builtin.test.dense.contains(1) && builtin.test.dense.contains(0))
    }

    func testTwoThreadsAndStreamedSlicesGiveTheSameRows() throws {
        let directory = try write(Self.lines(count: 3000, seed: 3, test: false), Self.lines(count: 1200, seed: 4, test: true))
        let builtin = try ReferenceCensusReader.load(directory: directory)
        let saved = Parallel.threads
        Parallel.threads = 2
        defer { Parallel.threads = saved }
        let files = CensusIncome.files(in: directory)!
        let scan = try SchemaScan(schema: CensusTaskGroup.incomeMarital.schema(), paths: [files.train], keepRows: false, sliceBytes: 64 << 10)
        XCTAssertGreaterThan(scan.files[0].slices.count, 1)
        var parts: [TabularData] = []
        for slice in scan.files[0].slices {
            try SchemaReader(schema: scan.schema).read(path: files.train, slice: slice, layout: scan.files[0].layout, chunkRows: 500) { parts.append($0); return true }
        }
        assertIdentical(builtin.train, TabularData.concatenating(parts)!, "streamed train")
        assertSameEncoder(builtin.encoder, scan.schema)
    }

    func testTheFittedSchemaSurvivesItsJSON() throws {
        let directory = try write(Self.lines(count: 800, seed: 5, test: false), Self.lines(count: 300, seed: 6, test: true))
        let read = try readWithSchema(directory, group: .incomeMarital, keepKeys: false)
        let reloaded = try DataSchema(json: Data(read.schema.json.utf8), file: "manifest")
        XCTAssertEqual(reloaded, read.schema)
        var parts: [TabularData] = []
        try SchemaReader(schema: reloaded).read(.file(CensusIncome.files(in: directory)!.test!)) { parts.append($0); return true }
        assertIdentical(read.test, TabularData.concatenating(parts)!, "test read with the reloaded schema")
    }

    func testSharedRealFilesBitIdentical() throws {
        let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("../shared/data/census").standardized.path
        try XCTSkipIf(CensusIncome.files(in: shared)?.test == nil, "no Census sample at \(shared)")
        let builtin = try ReferenceCensusReader.load(directory: shared, keepKeys: true)
        let read = try readWithSchema(shared, group: .incomeMarital, keepKeys: true)
        assertIdentical(builtin.train, read.train, "real train")
        assertIdentical(builtin.test, read.test, "real test")
        assertSameEncoder(builtin.encoder, read.schema)
        let loaded = try CensusIncome.load(directory: shared, keepKeys: true)
        assertIdentical(builtin.train, loaded.train, "real loaded train")
        assertIdentical(builtin.test, loaded.test, "real loaded test")
        XCTAssertEqual(loaded.encoder, builtin.encoder)
    }
}
