import XCTest
import Datasets

/// The MMoE paper's second Census task group (education, marital): its labels, its 28 fields
/// without `education`, its table sizes; and the first group left as it was.
final class CensusTaskGroupTests: XCTestCase {
    typealias Fixture = CensusFixture

    static let allEducation = [
        "Children", "Less than 1st grade", "1st 2nd 3rd or 4th grade", "5th or 6th grade", "7th and 8th grade", "9th grade",
        "10th grade", "11th grade", "12th grade no diploma", "High school graduate", "Some college but no degree",
        "Associates degree-occup /vocational", "Associates degree-academic program", "Bachelors degree(BA AB BS)",
        "Masters degree(MA MS MEng MEd MSW MBA)", "Prof school degree (MD DDS DVM LLB JD)", "Doctorate degree(PhD EdD)",
    ]

    func testNamesFieldsAndTableSizesOfBothGroups() {
        XCTAssertEqual(CensusTaskGroup.incomeMarital.taskNames, CensusIncome.taskNames)
        XCTAssertEqual(CensusTaskGroup.incomeMarital.sparseNames, CensusIncome.sparseNames)
        XCTAssertEqual(CensusTaskGroup.incomeMarital.defaultTableSizes, CensusIncome.defaultTableSizes)
        let g = CensusTaskGroup.educationMarital
        XCTAssertEqual(g.taskNames, ["education", "marital"])
        XCTAssertEqual(g.labelColumnNames, ["education", "marital_stat"])
        XCTAssertEqual(g.sparseNames.count, 28)
        var expected = CensusIncome.sparseNames, sizes = CensusIncome.defaultTableSizes
        let at = expected.firstIndex(of: "education")!
        expected.remove(at: at)
        XCTAssertEqual(sizes.remove(at: at), 17, "the reference size of education: its 17 values")
        XCTAssertEqual(g.sparseNames, expected)
        XCTAssertEqual(g.defaultTableSizes, sizes)
        XCTAssertFalse(g.sparseNames.contains("income_50k") || g.sparseNames.contains("marital_stat"))
    }

    func testParsingTheFlagValue() {
        for text in ["income,marital", "income, marital", "[income, marital]"] {
            XCTAssertEqual(CensusTaskGroup(parsing: text), .incomeMarital, text)
        }
        for text in ["education,marital", " education , marital ", "[education,marital]"] {
            XCTAssertEqual(CensusTaskGroup(parsing: text), .educationMarital, text)
        }
        for text in ["", "education", "marital,education", "income,education", "Education,marital", "education;marital"] {
            XCTAssertNil(CensusTaskGroup(parsing: text), text)
        }
    }

    /// Every education value of the Census files: the four degrees from a bachelor's up are 1.
    func testEducationLabelIsABachelorsDegreeOrHigher() throws {
        let rows = Self.allEducation.enumerated().map { i, e in
            Fixture.line(["education": e, "marital_stat": i % 2 == 0 ? "Never married" : "Divorced",
                          "income_50k": i % 3 == 0 ? "50000+" : "- 50000"])
        }
        let dir = try Fixture.write(self, train: rows, test: rows.reversed())
        let data = try CensusIncome.load(directory: dir, tasks: .educationMarital)
        XCTAssertEqual(data.train.taskNames, ["education", "marital"])
        XCTAssertEqual(data.encoder.group, .educationMarital)
        let degree: Set = ["Bachelors degree(BA AB BS)", "Masters degree(MA MS MEng MEd MSW MBA)",
                           "Prof school degree (MD DDS DVM LLB JD)", "Doctorate degree(PhD EdD)"]
        for (i, e) in Self.allEducation.enumerated() {
            XCTAssertEqual(data.train.labels(row: i), [degree.contains(e) ? 1 : 0, i % 2 == 0 ? 1 : 0], e)
        }
        let n = rows.count
        XCTAssertEqual((0 ..< n).map { data.test.labels(row: $0) }, (0 ..< n).reversed().map { data.train.labels(row: $0) })

        // The same rows in the default group: income and marital, as before.
        let income = try CensusIncome.load(directory: dir)
        XCTAssertEqual(income.train.taskNames, ["income", "marital"])
        for i in 0 ..< n { XCTAssertEqual(income.train.labels(row: i), [i % 3 == 0 ? 1 : 0, i % 2 == 0 ? 1 : 0]) }
    }

    /// With education as a label, rows that differ only in education encode to the same inputs.
    func testEducationIsNoInputWhenItIsALabel() throws {
        let a = Fixture.line(["education": "Children", "race": "Black"])
        let b = Fixture.line(["education": "Doctorate degree(PhD EdD)", "race": "Black"])
        let c = Fixture.line(["education": "Children", "race": "White"])
        let dir = try Fixture.write(self, train: [a, b, c], test: [b])
        let data = try CensusIncome.load(directory: dir, tasks: .educationMarital)
        let t = data.train, schema = data.encoder.schema
        XCTAssertEqual(t.fieldCount, 28)
        XCTAssertEqual(schema.fieldNames, CensusTaskGroup.educationMarital.sparseNames)
        XCTAssertEqual(schema.fieldRows, CensusTaskGroup.educationMarital.defaultTableSizes.map { $0 + 1 })
        XCTAssertEqual(Array(t.ids[0 ..< 28]), Array(t.ids[28 ..< 56]))
        XCTAssertEqual(t.dense(row: 0), t.dense(row: 1))
        XCTAssertNotEqual(t.labels(row: 0), t.labels(row: 1))
        XCTAssertNotEqual(Array(t.ids[0 ..< 28]), Array(t.ids[56 ..< 84]), "a field that is an input still moves the ids")
        XCTAssertEqual(Array(data.test.ids[0 ..< 28]), Array(t.ids[28 ..< 56]))
        XCTAssertEqual(data.encoder.values.count, 28)
        // The fields after education's place read their own columns (hs_college follows it in the file).
        let hs = schema.fieldNames.firstIndex(of: "hs_college")!
        XCTAssertEqual(data.encoder.values[hs], ["Not in universe"])

        // The encoder rebuilds from what a checkpoint keeps, group included.
        let rebuilt = try CensusEncoder(denseMin: data.encoder.denseMin, denseMax: data.encoder.denseMax,
                                        capacities: data.encoder.capacities, values: data.encoder.values, group: .educationMarital)
        XCTAssertEqual(rebuilt, data.encoder)
        XCTAssertNotNil(Fixture.error {
            _ = try CensusEncoder(denseMin: data.encoder.denseMin, denseMax: data.encoder.denseMax,
                                  capacities: data.encoder.capacities, values: data.encoder.values)
        })
    }

    func testTableSizesFollowTheGroup() throws {
        let dir = try Fixture.write(self, train: [Fixture.line()], test: [Fixture.line()])
        let error = Fixture.error { _ = try CensusIncome.load(directory: dir, tableSizes: CensusIncome.defaultTableSizes, tasks: .educationMarital) }
        XCTAssertEqual(error?.description,
                       "--table_size_array: expected 28 sizes, one per sparse field (education is a label in the education,marital task group, so it is not a field), got 29")
        var sizes = CensusTaskGroup.educationMarital.defaultTableSizes
        sizes[3] = 0
        XCTAssertEqual(Fixture.error { _ = try CensusIncome.load(directory: dir, tableSizes: sizes, tasks: .educationMarital) }?.field, "hs_college")
        sizes[3] = 7
        XCTAssertEqual(try CensusIncome.load(directory: dir, tableSizes: sizes, tasks: .educationMarital).encoder.capacities, sizes)
    }

    /// The shared sample: every row's education label is 1 exactly when its raw education is a
    /// degree from a bachelor's up, read here straight from the text.
    func testSharedSampleEducationLabels() throws {
        let dir = CensusSharedSampleTests.directory
        guard CensusIncome.files(in: dir) != nil, Fixture.gzipAvailable else { throw XCTSkip("no shared Census sample at \(dir)") }
        let data = try CensusIncome.load(directory: dir, maxTrainRows: 2000, maxTestRows: 0, tasks: .educationMarital)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["gzip", "-dc", CensusIncome.files(in: dir)!.train]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let degrees = Set(CensusTaskGroup.bachelorOrHigher)
        let education = text.split(separator: "\n").prefix(2000).map { String($0.components(separatedBy: ", ")[4]) }
        XCTAssertEqual(education.count, 2000)
        XCTAssertEqual((0 ..< 2000).map { data.train.labels(row: $0)[0] }, education.map { degrees.contains($0) ? 1 : 0 })
        XCTAssertGreaterThan(education.filter(degrees.contains).count, 100)
    }
}
