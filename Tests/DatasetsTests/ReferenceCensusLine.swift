@testable import Datasets

/// The built-in Census reader as it was before the commands read Census through the schema reader
/// (`CensusTaskGroup.schema`): kept here as the reference `CensusSchemaTests` hold the schema path
/// to, bit for bit.
///
/// The fields of one raw Census line, found as byte ranges so that a row is parsed without making a
/// String per field. The reader reuses one value for every line.
struct CensusLine {
    static let columnCount = CensusIncome.columnNames.count
    static let maritalColumn = CensusIncome.columnNames.firstIndex(of: "marital_stat")!
    static let incomeColumn = CensusIncome.columnNames.firstIndex(of: "income_50k")!
    static let denseColumns = CensusIncome.denseNames.map { CensusIncome.columnNames.firstIndex(of: $0)! }
    static let sparseColumns = CensusIncome.sparseNames.map { CensusIncome.columnNames.firstIndex(of: $0)! }
    static let educationColumn = CensusIncome.columnNames.firstIndex(of: "education")!

    /// The columns of `group`'s sparse fields, in field order.
    static func sparseColumns(_ group: CensusTaskGroup) -> [Int] {
        group.sparseNames.map { CensusIncome.columnNames.firstIndex(of: $0)! }
    }

    /// Trimmed bounds of the first `min(count, columnCount)` fields.
    private var starts = [Int](repeating: 0, count: columnCount)
    private var ends = [Int](repeating: 0, count: columnCount)
    /// Fields found on the line, which may be more than `columnCount`.
    private(set) var count = 0

    /// Bytes of field `column`, without surrounding whitespace (and, for the last field, without the
    /// line's closing full stop).
    func range(_ column: Int) -> Range<Int> { starts[column] ..< ends[column] }

    /// Splits `bytes[line]` at its commas. UCI separates fields with ", "; splitting at the comma and
    /// trimming accepts that and stray extra blanks alike. Returns false for a blank line.
    mutating func split(_ bytes: [UInt8], _ line: Range<Int>) -> Bool {
        var lo = line.lowerBound
        var hi = line.upperBound
        while lo < hi, Self.isBlank(bytes[lo]) { lo += 1 }
        while hi > lo, Self.isBlank(bytes[hi - 1]) { hi -= 1 }
        guard lo < hi else { count = 0; return false }
        if bytes[hi - 1] == UInt8(ascii: ".") { hi -= 1 }  // the closing full stop, when present

        var n = 0
        var fieldStart = lo
        var i = lo
        while i <= hi {
            if i == hi || bytes[i] == UInt8(ascii: ",") {
                if n < Self.columnCount {
                    var a = fieldStart
                    var b = i
                    while a < b, Self.isBlank(bytes[a]) { a += 1 }
                    while b > a, Self.isBlank(bytes[b - 1]) { b -= 1 }
                    starts[n] = a
                    ends[n] = b
                }
                n += 1
                fieldStart = i + 1
            }
            i += 1
        }
        count = n
        return true
    }

    @inline(__always) static func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D }

    /// 1 for `50000+`, 0 for `- 50000`; nil for anything else.
    func income(_ bytes: [UInt8]) -> Float? {
        let r = range(Self.incomeColumn)
        if Self.equals(bytes, r, Self.over50k) { return 1 }
        if Self.equals(bytes, r, Self.under50k) { return 0 }
        return nil
    }

    func neverMarried(_ bytes: [UInt8]) -> Float {
        Self.equals(bytes, range(Self.maritalColumn), Self.neverMarriedText) ? 1 : 0
    }

    private static let over50k = Array("50000+".utf8)
    private static let under50k = Array("- 50000".utf8)
    private static let neverMarriedText = Array("Never married".utf8)
    private static let bachelorOrHigherTexts = CensusTaskGroup.bachelorOrHigher.map { Array($0.utf8) }

    /// 1 for a bachelor's degree or higher (`CensusTaskGroup.bachelorOrHigher`), 0 for any other
    /// education value.
    func bachelorOrHigher(_ bytes: [UInt8]) -> Float {
        let r = range(Self.educationColumn)
        return Self.bachelorOrHigherTexts.contains { Self.equals(bytes, r, $0) } ? 1 : 0
    }

    static func equals(_ bytes: [UInt8], _ r: Range<Int>, _ text: [UInt8]) -> Bool {
        r.count == text.count && bytes[r].elementsEqual(text)
    }

    /// Field text for messages, shortened so a garbage line does not flood the terminal.
    static func text(_ bytes: [UInt8], _ r: Range<Int>) -> String {
        let limit = 60
        let cut = r.count > limit ? r.lowerBound ..< r.lowerBound + limit : r
        return MessageText.escape(bytes[cut]) + (cut.count < r.count ? "..." : "")
    }
}

extension CensusLine {
    /// `forEachRow(path:)` on any reader (a file or a stream, named `reader.path` in errors); `body`
    /// returns false to stop after that row.
    static func forEachRow(reader: ChunkReader, maxRows: Int?,
                           _ body: (_ line: CensusLine, _ bytes: [UInt8], _ number: Int) throws(DatasetError) -> Bool) throws(DatasetError) -> Int {
        let limit = max(0, maxRows ?? Int.max)
        let path = reader.path
        guard limit > 0 else { reader.close(); return 0 }
        var line = CensusLine()
        var rows = 0
        try reader.forEachLine { bytes, range, number throws(DatasetError) in
            guard try line.parse(bytes, range, path: path, number: number) else { return true }
            let more = try body(line, bytes, number)
            rows += 1
            return more && rows < limit
        }
        return rows
    }

    /// Splits line `number` of `path` (`bytes[range]`) and checks it has all 42 fields; false for a
    /// blank line.
    mutating func parse(_ bytes: [UInt8], _ range: Range<Int>, path: String, number: Int) throws(DatasetError) -> Bool {
        guard split(bytes, range) else { return false }
        guard count == Self.columnCount else {
            throw DatasetError(file: path, line: number, "found \(count) field\(count == 1 ? "" : "s"), expected \(Self.columnCount) separated by \", \"")
        }
        return true
    }

    /// Both labels, in `CensusIncome.taskNames` order.
    func labels(_ bytes: [UInt8], path: String, number: Int) throws(DatasetError) -> (income: Float, marital: Float) {
        guard let income = income(bytes) else {
            throw DatasetError(file: path, line: number, field: "income_50k",
                               "unknown income label \"\(Self.text(bytes, range(Self.incomeColumn)))\"; expected \"50000+\" or \"- 50000\"")
        }
        return (income, neverMarried(bytes))
    }

    /// `group`'s two labels, in its task order.
    func labels(_ group: CensusTaskGroup, _ bytes: [UInt8], path: String, number: Int) throws(DatasetError) -> (Float, Float) {
        switch group {
        case .incomeMarital: return try labels(bytes, path: path, number: number)
        case .educationMarital: return (bachelorOrHigher(bytes), neverMarried(bytes))
        }
    }

    /// Unscaled value of dense field `d` (an index into `CensusIncome.denseNames`).
    func rawDense(_ d: Int, _ bytes: [UInt8], path: String, number: Int) throws(DatasetError) -> Float {
        let r = range(Self.denseColumns[d])
        guard let value = DecimalParser.parse(bytes, r), Float(value).isFinite else {
            let text = Self.text(bytes, r)
            let why = text == "?" ? " (a missing value; dense fields must be numeric)"
                : DecimalParser.parse(bytes, r) != nil ? " (out of Float's range)" : ""
            throw DatasetError(file: path, line: number, field: CensusIncome.denseNames[d], "not a number: \"\(text)\"\(why)")
        }
        return Float(value)
    }
}

/// The reference reader's load: fits the encoder on the training file and encodes both splits
/// with the line parser above (one thread, the whole file at once).
enum ReferenceCensusReader {
    static func load(directory: String, tableSizes: [Int]? = nil, tasks group: CensusTaskGroup = .incomeMarital,
                     keepKeys: Bool = false) throws -> (train: TabularData, test: TabularData, encoder: CensusEncoder, warnings: [String]) {
        let files = CensusIncome.files(in: directory)!
        let capacities = tableSizes ?? group.defaultTableSizes
        let fitted = try fit(path: files.train, capacities: capacities, group: group, keepKeys: keepKeys)
        let test = try encode(path: files.test!, encoder: fitted.encoder, keepKeys: keepKeys)
        return (fitted.data, test, fitted.encoder, fitted.warnings)
    }

    static func fit(path: String, capacities: [Int], group: CensusTaskGroup, keepKeys: Bool) throws
        -> (encoder: CensusEncoder, data: TabularData, warnings: [String]) {
        let denseCount = CensusIncome.denseNames.count
        let names = group.sparseNames, columns = CensusLine.sparseColumns(group)
        let fieldCount = names.count
        var fields = [FieldVocabulary](repeating: FieldVocabulary(), count: fieldCount)
        var lo = [Float](repeating: .infinity, count: denseCount)
        var hi = [Float](repeating: -.infinity, count: denseCount)
        var dense: [Float] = [], ids: [Int32] = [], keys: [UInt64] = [], labels: [Float] = []
        let count = try CensusLine.forEachRow(reader: try ChunkReader(path: path), maxRows: nil) { line, bytes, number throws(DatasetError) in
            let (first, marital) = try line.labels(group, bytes, path: path, number: number)
            for d in 0 ..< denseCount {
                let v = try line.rawDense(d, bytes, path: path, number: number)
                lo[d] = min(lo[d], v)
                hi[d] = max(hi[d], v)
                dense.append(v)
            }
            for f in 0 ..< fieldCount {
                let r = line.range(columns[f])
                let key = FieldHash.key(field: f, bytes, r)
                if keepKeys { keys.append(key) }
                ids.append(try! fields[f].findOrInsert(key: key, bytes, r))
            }
            labels.append(first)
            labels.append(marital)
            return true
        }
        var warnings: [String] = []
        for (f, field) in fields.enumerated() where field.count > capacities[f] {
            warnings.append("table_size_array: field \(names[f]) has \(field.count) distinct values, more than its capacity \(capacities[f]); the table grows to \(field.count)")
        }
        let encoder = try CensusEncoder(denseMin: lo, denseMax: hi, capacities: capacities, values: fields.map(\.values), group: group)
        for i in 0 ..< count {
            for d in 0 ..< denseCount { dense[i * denseCount + d] = encoder.scale(dense[i * denseCount + d], dense: d) }
            for f in 0 ..< fieldCount { ids[i * fieldCount + f] += Int32(encoder.schema.fieldOffsets[f]) }
        }
        let data = TabularData(count: count, denseWidth: denseCount, dense: dense, fieldCount: fieldCount, ids: ids,
                               taskNames: group.taskNames, labels: labels, keys: keepKeys ? keys : nil)
        return (encoder, data, warnings)
    }

    static func encode(path: String, encoder: CensusEncoder, keepKeys: Bool) throws -> TabularData {
        let group = encoder.group
        let denseCount = CensusIncome.denseNames.count
        let columns = CensusLine.sparseColumns(group)
        var dense: [Float] = [], ids: [Int32] = [], keys: [UInt64] = [], labels: [Float] = []
        let count = try CensusLine.forEachRow(reader: try ChunkReader(path: path), maxRows: nil) { line, bytes, number throws(DatasetError) in
            let (first, marital) = try line.labels(group, bytes, path: path, number: number)
            for d in 0 ..< denseCount { dense.append(encoder.scale(try line.rawDense(d, bytes, path: path, number: number), dense: d)) }
            for f in columns.indices {
                let r = line.range(columns[f])
                ids.append(try encoder.row(field: f, bytes, r, file: path, line: number))
                if keepKeys { keys.append(FieldHash.key(field: f, bytes, r)) }
            }
            labels.append(first)
            labels.append(marital)
            return true
        }
        return TabularData(count: count, denseWidth: denseCount, dense: dense, fieldCount: columns.count, ids: ids,
                           taskNames: group.taskNames, labels: labels, keys: keepKeys ? keys : nil)
    }
}
