import XCTest
@testable import Datasets

final class CensusIncomeTests: XCTestCase {
    typealias Fixture = CensusFixture
    func sparse(_ name: String) -> Int { CensusIncome.sparseNames.firstIndex(of: name)! }
    func dense(_ name: String) -> Int { CensusIncome.denseNames.firstIndex(of: name)! }

    func testFieldNamesAndDefaults() {
        XCTAssertEqual(CensusIncome.columnNames.count, 42)
        XCTAssertEqual(CensusIncome.denseNames.count, 11)
        XCTAssertEqual(CensusIncome.sparseNames.count, 29)
        XCTAssertEqual(CensusIncome.defaultTableSizes.count, 29)
        XCTAssertEqual(Array(CensusIncome.sparseNames.prefix(5)), ["class_worker", "det_ind_code", "det_occ_code", "education", "hs_college"])
        XCTAssertEqual(CensusIncome.sparseNames.last, "vet_question")
        XCTAssertFalse(CensusIncome.sparseNames.contains("marital_stat"))
        XCTAssertFalse(CensusIncome.sparseNames.contains("income_50k"))
        XCTAssertEqual(CensusIncome.taskNames, ["income", "marital"])
    }

    func testLabelsBothWays() throws {
        let rows = [
            Fixture.line(["income_50k": "50000+", "marital_stat": "Never married"]),
            Fixture.line(["income_50k": "- 50000", "marital_stat": "Never married"]),
            Fixture.line(["income_50k": "50000+", "marital_stat": "Divorced"]),
            Fixture.line(["income_50k": "- 50000"]),
        ]
        let dir = try Fixture.write(self, train: rows, test: rows.reversed())
        let data = try CensusIncome.load(directory: dir)
        XCTAssertEqual(data.train.taskNames, ["income", "marital"])
        XCTAssertEqual((0 ..< 4).map { data.train.labels(row: $0) }, [[1, 1], [0, 1], [1, 0], [0, 0]])
        XCTAssertEqual((0 ..< 4).map { data.test.labels(row: $0) }, [[0, 0], [1, 0], [0, 1], [1, 1]])
    }

    func testDenseScalingUsesTrainingRangeAndClipsTest() throws {
        let train = ["10", "30", "20"].map { Fixture.line(["age": $0, "year": "95"]) }
        let test = [("40", "94"), ("0", "95"), ("25", "96"), ("10", "95")].map { Fixture.line(["age": $0.0, "year": $0.1]) }
        let dir = try Fixture.write(self, train: train, test: test)
        let data = try CensusIncome.load(directory: dir)
        let age = dense("age"), year = dense("year"), weight = dense("instance_weight")
        XCTAssertEqual(data.train.denseWidth, 11)
        XCTAssertEqual(data.encoder.denseMin[age], 10)
        XCTAssertEqual(data.encoder.denseMax[age], 30)
        XCTAssertEqual((0 ..< 3).map { data.train.dense(row: $0)[age] }, [0, 1, 0.5])
        XCTAssertEqual((0 ..< 4).map { data.test.dense(row: $0)[age] }, [1, 0, 0.75, 0])
        // A field constant in training gives 0, for test values on either side too.
        XCTAssertEqual((0 ..< 3).map { data.train.dense(row: $0)[year] }, [0, 0, 0])
        XCTAssertEqual((0 ..< 4).map { data.test.dense(row: $0)[year] }, [0, 0, 0, 0])
        XCTAssertEqual(data.encoder.denseMin[weight], 2259.6)
        XCTAssertTrue(data.train.dense.allSatisfy { (0 ... 1).contains($0) })
        XCTAssertTrue(data.test.dense.allSatisfy { (0 ... 1).contains($0) })
    }

    func testSparseValuesGetTheirOwnRows() throws {
        let train = [
            Fixture.line(["education": "Children", "mig_chg_msa": "?"]),
            Fixture.line(["education": "Masters degree(MA MS MEng MEd MSW MBA)", "mig_chg_msa": "Nonmover"]),
            Fixture.line(["education": "Children", "mig_chg_msa": "Nonmover"]),
        ]
        let dir = try Fixture.write(self, train: train, test: [train[1], train[0]])
        let data = try CensusIncome.load(directory: dir)
        let schema = data.encoder.schema
        let edu = sparse("education"), msa = sparse("mig_chg_msa")
        let t = data.train
        // Same value, same row; different values, different rows; first seen gets the first row.
        XCTAssertEqual(t.id(row: 0, field: edu), t.id(row: 2, field: edu))
        XCTAssertNotEqual(t.id(row: 0, field: edu), t.id(row: 1, field: edu))
        XCTAssertEqual(t.id(row: 0, field: edu), schema.fieldOffsets[edu])
        XCTAssertEqual(t.id(row: 1, field: edu), schema.fieldOffsets[edu] + 1)
        // `?` is a value like any other, with its own row (not the unknown row).
        XCTAssertNotEqual(t.id(row: 0, field: msa), t.id(row: 1, field: msa))
        XCTAssertEqual(t.id(row: 1, field: msa), t.id(row: 2, field: msa))
        XCTAssertNotEqual(t.id(row: 0, field: msa), schema.unknownRow(field: msa))
        XCTAssertEqual(data.encoder.values[msa], ["?", "Nonmover"])
        // The same text in two fields: "Not in universe" in class_worker and hs_college.
        let a = sparse("class_worker"), b = sparse("hs_college")
        XCTAssertNotEqual(t.id(row: 0, field: a), t.id(row: 0, field: b))
        XCTAssertNotEqual(FieldHash.key(field: a, value: "Not in universe"), FieldHash.key(field: b, value: "Not in universe"))
        // Every id lies in its field's rows, and test rows seen in training get training rows.
        for i in 0 ..< t.count {
            for f in 0 ..< t.fieldCount {
                XCTAssertTrue((schema.fieldOffsets[f] ..< schema.unknownRow(field: f)).contains(t.id(row: i, field: f)))
            }
        }
        XCTAssertEqual(data.test.ids[0 ..< 29], t.ids[29 ..< 58])
        XCTAssertEqual(data.test.ids[29 ..< 58], t.ids[0 ..< 29])
        XCTAssertEqual(schema.fieldRows, CensusIncome.defaultTableSizes.map { $0 + 1 })
        XCTAssertEqual(data.encoder.vocabularies[edu][FieldHash.key(field: edu, value: "Children")], Int32(schema.fieldOffsets[edu]))
    }

    func testValueSeenOnlyInTestGoesToUnknownRow() throws {
        let dir = try Fixture.write(self, train: [Fixture.line(["education": "Children"])],
                                    test: [Fixture.line(["education": "Doctorate degree(PhD EdD)", "race": "Other"])])
        let data = try CensusIncome.load(directory: dir)
        let schema = data.encoder.schema
        XCTAssertEqual(data.test.id(row: 0, field: sparse("education")), schema.unknownRow(field: sparse("education")))
        XCTAssertEqual(data.test.id(row: 0, field: sparse("race")), schema.unknownRow(field: sparse("race")))
        XCTAssertEqual(data.test.id(row: 0, field: sparse("sex")), data.train.id(row: 0, field: sparse("sex")))
        XCTAssertEqual(try data.encoder.row(field: sparse("education"), value: "Bachelors"), Int32(schema.unknownRow(field: sparse("education"))))
        XCTAssertEqual(try data.encoder.row(field: sparse("education"), value: "Children"), Int32(schema.fieldOffsets[sparse("education")]))
    }

    func testFullStopOptionalCRLFAndBlankLines() throws {
        let rows = [Fixture.line(["age": "1", "income_50k": "50000+"]), Fixture.line(["age": "3"], fullStop: false),
                    "", "   ", Fixture.line(["age": "2", "income_50k": "50000+"], fullStop: false)]
        let reference = try CensusIncome.load(directory: Fixture.write(self, train: rows.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty },
                                                                        test: [rows[0]]))
        let dir = try Fixture.write(self, train: rows, test: [rows[0]], separator: "\r\n")
        let data = try CensusIncome.load(directory: dir)
        XCTAssertEqual(data.train.count, 3)
        XCTAssertEqual((0 ..< 3).map { data.train.labels(row: $0)[0] }, [1, 0, 1])
        XCTAssertEqual((0 ..< 3).map { data.train.dense(row: $0)[dense("age")] }, [0, 1, 0.5])
        XCTAssertEqual(data.train.ids, reference.train.ids)
        XCTAssertEqual(data.encoder.values, reference.encoder.values)
        // No final line break, and a value with stray blanks around it.
        let raw = try Fixture.directory(self)
        try Fixture.write(rows[0] + "\n" + Fixture.line(["education": "  Children  "]), to: raw + "/census-income.data")
        try Fixture.write(Fixture.line(["education": "Children"]), to: raw + "/census-income.test")
        let unterminated = try CensusIncome.load(directory: raw)
        XCTAssertEqual(unterminated.train.count, 2)
        XCTAssertEqual(unterminated.test.id(row: 0, field: sparse("education")), unterminated.train.id(row: 1, field: sparse("education")))
    }

    func testGzipGivesTheSameDataAsPlain() throws {
        try XCTSkipUnless(Fixture.gzipAvailable, "gzip is not installed")
        let train = (0 ..< 50).map { Fixture.line(["age": "\($0)", "education": "E\($0 % 7)", "income_50k": $0 % 5 == 0 ? "50000+" : "- 50000"]) }
        let test = (0 ..< 20).map { Fixture.line(["age": "\($0 * 3)", "education": "E\($0 % 9)"]) }
        let dir = try Fixture.write(self, train: train, test: test)
        let plain = try CensusIncome.load(directory: dir)
        try Fixture.gzip(dir + "/census-income.data")
        try Fixture.gzip(dir + "/census-income.test")
        XCTAssertEqual(CensusIncome.files(in: dir)?.train, dir + "/census-income.data.gz")
        let zipped = try CensusIncome.load(directory: dir)
        for (a, b) in [(plain.train, zipped.train), (plain.test, zipped.test)] {
            XCTAssertEqual(a.count, b.count)
            XCTAssertEqual(a.dense, b.dense)
            XCTAssertEqual(a.ids, b.ids)
            XCTAssertEqual(a.labels, b.labels)
        }
        XCTAssertEqual(plain.encoder.schema, zipped.encoder.schema)
        XCTAssertEqual(plain.encoder.values, zipped.encoder.values)
        // A row limit stops reading early; gzip must not be left blocked on the pipe.
        XCTAssertEqual(try CensusIncome.load(directory: dir, maxTrainRows: 3, maxTestRows: 0).train.count, 3)
    }

    func testCapacityIsGrownWithOneWarningPerField() throws {
        let train = ["A", "B", "C", "A"].map { Fixture.line(["education": $0, "race": "R\($0)"]) }
        let dir = try Fixture.write(self, train: train, test: [train[0]])
        var sizes = CensusIncome.defaultTableSizes
        sizes[sparse("education")] = 2
        sizes[sparse("race")] = 1
        sizes[sparse("sex")] = 1  // one distinct value: fits exactly
        let data = try CensusIncome.load(directory: dir, tableSizes: sizes)
        XCTAssertEqual(data.warnings, [
            "table_size_array: field education has 3 distinct values, more than its capacity 2; the table grows to 3",
            "table_size_array: field race has 3 distinct values, more than its capacity 1; the table grows to 3",
        ])
        let rows = data.encoder.schema.fieldRows
        XCTAssertEqual(rows[sparse("education")], 4)
        XCTAssertEqual(rows[sparse("race")], 4)
        XCTAssertEqual(rows[sparse("sex")], 2)
        XCTAssertEqual(rows[sparse("class_worker")], sizes[sparse("class_worker")] + 1)
        XCTAssertEqual(data.encoder.capacities, sizes)
        XCTAssertEqual(Set((0 ..< 4).map { data.train.id(row: $0, field: sparse("education")) }).count, 3)
        XCTAssertTrue(try CensusIncome.load(directory: dir).warnings.isEmpty)
    }

    func testRowLimits() throws {
        let train = (0 ..< 5).map { Fixture.line(["age": "\($0 * 10)", "education": "E\($0)"]) }
        let dir = try Fixture.write(self, train: train, test: train)
        let data = try CensusIncome.load(directory: dir, maxTrainRows: 2, maxTestRows: 3)
        XCTAssertEqual(data.train.count, 2)
        XCTAssertEqual(data.test.count, 3)
        XCTAssertEqual(data.encoder.denseMax[dense("age")], 10)
        XCTAssertEqual(data.encoder.values[sparse("education")], ["E0", "E1"])
        let edu = sparse("education")
        XCTAssertEqual(data.test.id(row: 2, field: edu), data.encoder.schema.unknownRow(field: edu))
        XCTAssertEqual(data.test.dense(row: 2)[dense("age")], 1)
        XCTAssertEqual(try CensusIncome.load(directory: dir, maxTestRows: 0).test.count, 0)
        XCTAssertEqual(try CensusIncome.load(directory: dir, maxTrainRows: 100).train.count, 5)
    }

    func testFilesPreferPlainAndTellWhatIsMissing() throws {
        let dir = try Fixture.directory(self)
        XCTAssertNil(CensusIncome.files(in: dir))
        XCTAssertNil(CensusIncome.files(in: dir + "/nowhere"))
        try Fixture.write("", to: dir + "/census-income.data.gz")
        XCTAssertEqual(CensusIncome.files(in: dir)?.train, dir + "/census-income.data.gz")
        XCTAssertNil(CensusIncome.files(in: dir)?.test)
        try Fixture.write("", to: dir + "/census-income.data")
        try Fixture.write("", to: dir + "/census-income.test.gz")
        XCTAssertEqual(CensusIncome.files(in: dir)?.train, dir + "/census-income.data")
        XCTAssertEqual(CensusIncome.files(in: dir)?.test, dir + "/census-income.test.gz")
    }

    func testEncoderRebuildsFromItsValues() throws {
        let train = ["A", "B", "?"].map { Fixture.line(["education": $0, "age": "\($0.utf8.first!)"]) }
        let data = try CensusIncome.load(directory: Fixture.write(self, train: train, test: train))
        let e = data.encoder
        let rebuilt = try CensusEncoder(denseMin: e.denseMin, denseMax: e.denseMax, capacities: e.capacities, values: e.values)
        XCTAssertEqual(rebuilt.schema, e.schema)
        XCTAssertEqual(rebuilt.vocabularies, e.vocabularies)
        XCTAssertEqual(rebuilt.values, e.values)
        XCTAssertEqual(rebuilt, e)
        var twice = e.values
        twice[3].append(twice[3][0])
        let dup = CensusFixture.error { _ = try CensusEncoder(denseMin: e.denseMin, denseMax: e.denseMax, capacities: e.capacities, values: twice) }
        XCTAssertEqual(dup?.field, "education")
        XCTAssertNotNil(CensusFixture.error { _ = try CensusEncoder(denseMin: [], denseMax: [], capacities: e.capacities, values: e.values) })
    }

    /// The key is part of the data format (saved vocabularies depend on it): pinned against an
    /// independent implementation of FNV-1a 64 + SplitMix64.
    func testHashIsStable() {
        XCTAssertEqual(FieldHash.key(field: 3, value: "Bachelors degree(BA AB BS)"), 0x3c07_7aae_65b1_e753)
        XCTAssertEqual(FieldHash.key(field: 0, value: "?"), 0x32c6_01f6_3feb_9b92)
        XCTAssertEqual(FieldHash.key(field: 1, value: "?"), 0x59d2_fa76_e8e9_37ec)
        XCTAssertEqual(FieldHash.key(field: 0, value: ""), 0xaca6_d6b5_4be3_ed05)
    }

    func testDecimalParser() {
        func parse(_ s: String) -> Double? { let b = Array(s.utf8); return DecimalParser.parse(b, b.indices) }
        XCTAssertEqual(parse("0"), 0)
        XCTAssertEqual(parse("2259.6"), 2259.6)
        XCTAssertEqual(parse("-3"), -3)
        XCTAssertEqual(parse("+0.5"), 0.5)
        XCTAssertEqual(parse("1.5e3"), 1500)
        XCTAssertEqual(parse("12345678901234567890"), Double("12345678901234567890"))
        XCTAssertEqual(parse("0.1"), 0.1)
        for bad in ["", "?", "-", ".", "1.2.3", "abc", "nan", "inf", "0x10", "1e", "1 2"] { XCTAssertNil(parse(bad), bad) }
    }
}
