import XCTest
@testable import Datasets

/// Every way a Census load can fail names the file, and the line and field when there is one.
final class CensusIncomeErrorTests: XCTestCase {
    typealias Fixture = CensusFixture
    let good = CensusFixture.line()

    func testMissingDirectory() throws {
        let dir = try Fixture.directory(self) + "/nowhere"
        let e = Fixture.error { _ = try CensusIncome.load(directory: dir) }
        XCTAssertEqual(e?.file, dir)
        XCTAssertTrue(e?.message.contains("census-income.data") ?? false, e?.description ?? "")
    }

    func testMissingTrainingFile() throws {
        let dir = try Fixture.directory(self)
        try Fixture.write(good, to: dir + "/census-income.test")
        let e = Fixture.error { _ = try CensusIncome.load(directory: dir) }
        XCTAssertEqual(e?.file, dir)
        XCTAssertTrue(e?.description.contains("census-income.data or census-income.data.gz") ?? false, e?.description ?? "")
    }

    func testMissingTestFile() throws {
        let dir = try Fixture.directory(self)
        try Fixture.write(good, to: dir + "/census-income.data")
        let e = Fixture.error { _ = try CensusIncome.load(directory: dir) }
        XCTAssertEqual(e?.file, dir)
        XCTAssertTrue(e?.description.contains("census-income.test") ?? false, e?.description ?? "")
    }

    func testWrongFieldCountNamesTheLine() throws {
        var fields = Fixture.base
        fields.remove(at: 3)
        let dir = try Fixture.write(self, train: [good, "", fields.joined(separator: ", ") + "."], test: [good])
        let e = Fixture.error { _ = try CensusIncome.load(directory: dir) }
        XCTAssertEqual(e?.file, dir + "/census-income.data")
        XCTAssertEqual(e?.line, 3)  // the blank line counts
        XCTAssertTrue(e?.message.contains("found 41 fields, expected 42") ?? false, e?.description ?? "")
        XCTAssertTrue(e?.description.hasPrefix(dir + "/census-income.data:3: ") ?? false, e?.description ?? "")

        let extra = try Fixture.write(self, train: [good], test: [good, good + ", 7"])
        let e2 = Fixture.error { _ = try CensusIncome.load(directory: extra) }
        XCTAssertEqual(e2?.file, extra + "/census-income.test")
        XCTAssertEqual(e2?.line, 2)
        XCTAssertTrue(e2?.message.contains("found 43 fields") ?? false, e2?.description ?? "")
    }

    func testBadNumberNamesTheField() throws {
        let dir = try Fixture.write(self, train: [good, Fixture.line(["capital_gains": "12x"])], test: [good])
        let e = Fixture.error { _ = try CensusIncome.load(directory: dir) }
        XCTAssertEqual(e?.description, "\(dir)/census-income.data:2 field capital_gains (column 17): \"12x\" is not a number (a dense feature)")

        let test = try Fixture.write(self, train: [good], test: [Fixture.line(["age": ""])])
        let e2 = Fixture.error { _ = try CensusIncome.load(directory: test) }
        XCTAssertEqual(e2?.file, test + "/census-income.test")
        XCTAssertEqual(e2?.line, 1)
        XCTAssertEqual(e2?.field, "age (column 1)")
    }

    func testMissingValueInDenseFieldIsAnError() throws {
        let dir = try Fixture.write(self, train: [Fixture.line(["weeks_worked": "?"])], test: [good])
        let e = Fixture.error { _ = try CensusIncome.load(directory: dir) }
        XCTAssertEqual(e?.line, 1)
        XCTAssertEqual(e?.field, "weeks_worked (column 40)")
        XCTAssertTrue(e?.message.contains("missing value") ?? false, e?.description ?? "")
    }

    func testUnknownIncomeLabel() throws {
        let dir = try Fixture.write(self, train: [good, good, Fixture.line(["income_50k": "50000"])], test: [good])
        let e = Fixture.error { _ = try CensusIncome.load(directory: dir) }
        XCTAssertEqual(e?.file, dir + "/census-income.data")
        XCTAssertEqual(e?.line, 3)
        XCTAssertEqual(e?.field, "income_50k (column 42)")
        // The value as the file has it, with the line's closing full stop.
        XCTAssertTrue(e?.message.contains("unknown label \"50000.\"") ?? false, e?.description ?? "")
    }

    func testBadTableSizes() throws {
        let dir = try Fixture.write(self, train: [good], test: [good])
        let short = Fixture.error { _ = try CensusIncome.load(directory: dir, tableSizes: [1, 2, 3]) }
        XCTAssertEqual(short?.file, "--table_size_array")
        XCTAssertTrue(short?.message.contains("expected 29 sizes") ?? false, short?.description ?? "")
        XCTAssertTrue(short?.message.contains("got 3") ?? false, short?.description ?? "")

        var sizes = CensusIncome.defaultTableSizes
        sizes[4] = 0
        let zero = Fixture.error { _ = try CensusIncome.load(directory: dir, tableSizes: sizes) }
        XCTAssertEqual(zero?.file, "--table_size_array")
        XCTAssertEqual(zero?.field, "hs_college")
        XCTAssertTrue(zero?.message.contains("positive") ?? false, zero?.description ?? "")

        sizes[4] = Int.max
        let huge = Fixture.error { _ = try CensusIncome.load(directory: dir, tableSizes: sizes) }
        XCTAssertEqual(huge?.file, "--table_size_array")
    }

    func testEmptyTrainingFile() throws {
        let dir = try Fixture.write(self, train: ["", "  "], test: [good])
        let e = Fixture.error { _ = try CensusIncome.load(directory: dir) }
        XCTAssertEqual(e?.file, dir + "/census-income.data")
        XCTAssertTrue(e?.message.contains("empty") ?? false, e?.description ?? "")
        let limited = try Fixture.write(self, train: [good], test: [good])
        XCTAssertNotNil(Fixture.error { _ = try CensusIncome.load(directory: limited, maxTrainRows: 0) })
    }

    func testCorruptGzipNamesTheFile() throws {
        try XCTSkipUnless(Fixture.gzipAvailable, "gzip is not installed")
        let dir = try Fixture.directory(self)
        try Fixture.write("this is not gzip data\n", to: dir + "/census-income.data.gz")
        try Fixture.write(good, to: dir + "/census-income.test")
        let e = Fixture.error { _ = try CensusIncome.load(directory: dir) }
        XCTAssertEqual(e?.file, dir + "/census-income.data.gz")
        XCTAssertTrue(e?.message.contains("gzip") ?? false, e?.description ?? "")
    }

    func testBinaryGarbageIsAnErrorNotACrash() throws {
        let dir = try Fixture.directory(self)
        try Data((0 ..< 5000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }).write(to: URL(fileURLWithPath: dir + "/census-income.data"))
        try Fixture.write(good, to: dir + "/census-income.test")
        let e = Fixture.error { _ = try CensusIncome.load(directory: dir) }
        XCTAssertEqual(e?.file, dir + "/census-income.data")
        XCTAssertNotNil(e?.line)
    }

    /// Real 64-bit collisions cannot be produced on demand, so the check is exercised with a forced
    /// key.
    func testKeyCollisionIsAnError() throws {
        var vocabulary = FieldVocabulary()
        let a = Array("Children".utf8), b = Array("Doctorate".utf8)
        XCTAssertEqual(try vocabulary.findOrInsert(key: 42, a, a.indices), 0)
        XCTAssertEqual(try vocabulary.findOrInsert(key: 42, a, a.indices), 0)
        XCTAssertThrowsError(try vocabulary.findOrInsert(key: 42, b, b.indices)) { error in
            guard let c = error as? FieldVocabulary.Collision else { return XCTFail("\(error)") }
            let e = CensusEncoder.collisionError(c, file: "f", line: 9, field: 3)
            XCTAssertEqual(e.description, "f:9 field education: values \"Children\" and \"Doctorate\" have the same 64-bit key 2a; they cannot be kept apart")
        }
        XCTAssertThrowsError(try vocabulary.find(key: 42, b, b.indices))
        XCTAssertNil(try vocabulary.find(key: 7, b, b.indices))
        XCTAssertEqual(vocabulary.count, 1)
    }
}
