import Foundation
@testable import Datasets

// The Taobao line parser the commands used before Taobao files were read by the schema reader
// with the built-in Taobao schema (`Taobao.dataSchema`). It is kept here only as the reference
// that path is held to, bit for bit (`TaobaoSchemaTests`), and as a second `LineEncoding` for the
// parallel-encoding tests.

/// Reads a whole Taobao file with the reference parser, one line at a time.
enum ReferenceTaobaoReader {
    static func load(path: String, options: TaobaoOptions = .init()) throws(DatasetError) -> TabularData {
        let reader = try ChunkReader(path: path)
        var encoding = ReferenceTaobaoEncoding(options: options, reserveRows: 1024)
        try reader.forEachLine(firstNumber: 1) { bytes, range, number throws(DatasetError) in
            _ = try encoding.encode(bytes, range, number: number, path: path)
            return true
        }
        return encoding.take()
    }
}

/// Taobao's per-line work: split, check the column count, encode into a `ReferenceTaobaoChunk`.
struct ReferenceTaobaoEncoding: LineEncoding {
    let options: TaobaoOptions
    var line = ReferenceTaobaoLine()
    var chunk: ReferenceTaobaoChunk

    init(options: TaobaoOptions, reserveRows: Int) {
        self.options = options
        chunk = ReferenceTaobaoChunk(reserveRows: min(reserveRows, 8192), keepKeys: options.keepKeys)
    }

    var count: Int { chunk.count }

    mutating func encode(_ bytes: [UInt8], _ range: Range<Int>, number: Int, path: String) throws(DatasetError) -> Bool {
        guard line.split(bytes, range) else { return false }
        guard line.count == ReferenceTaobaoLine.columnCount else {
            throw DatasetError(file: path, line: number, "found \(line.count) column\(line.count == 1 ? "" : "s"), expected \(ReferenceTaobaoLine.columnCount) separated by commas")
        }
        try chunk.append(line, bytes, path: path, number: number, options: options)
        return true
    }

    mutating func take() -> TabularData { chunk.take() }
}

/// The columns of one Taobao line, found as byte ranges so that a row is parsed without making a
/// String per field. The reader reuses one value for every line.
struct ReferenceTaobaoLine {
    static let columnCount = Taobao.columnNames.count

    /// Bounds of the first `min(count, columnCount)` columns, untrimmed: the file is plain CSV and a
    /// blank inside a value is part of it, as it is for TensorFlow's CSV decoder.
    private var starts = [Int](repeating: 0, count: columnCount)
    private var ends = [Int](repeating: 0, count: columnCount)
    /// Columns found on the line, which may be more than `columnCount`.
    private(set) var count = 0

    func range(_ column: Int) -> Range<Int> { starts[column] ..< ends[column] }

    /// Splits `bytes[line]` at its commas. Returns false for a blank line (nothing but spaces, tabs
    /// and carriage returns), which the reader skips.
    mutating func split(_ bytes: [UInt8], _ line: Range<Int>) -> Bool {
        var n = 0
        var fieldStart = line.lowerBound
        for i in line where bytes[i] == UInt8(ascii: ",") {
            if n < Self.columnCount {
                starts[n] = fieldStart
                ends[n] = i
            }
            n += 1
            fieldStart = i + 1
        }
        if n == 0, bytes[line].allSatisfy(Self.isBlank) { count = 0; return false }
        if n < Self.columnCount {
            starts[n] = fieldStart
            ends[n] = line.upperBound
        }
        count = n + 1
        return true
    }

    @inline(__always) static func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D }

    /// The label in `column`: exactly `0` or `1`, as DeepRec's int32 label columns hold.
    func label(_ column: Int, _ bytes: [UInt8], path: String, number: Int) throws(DatasetError) -> Float {
        let r = range(column)
        if r.count == 1 {
            if bytes[r.lowerBound] == UInt8(ascii: "0") { return 0 }
            if bytes[r.lowerBound] == UInt8(ascii: "1") { return 1 }
        }
        let name = Taobao.columnNames[column]
        throw DatasetError(file: path, line: number, field: name,
                           r.isEmpty ? "empty label; expected 0 or 1" : "label \"\(Self.text(bytes, r))\" is not 0 or 1")
    }

    /// The price bucket in `column`: an integer in [0, `buckets`), or clamped into it when `clamp`.
    func price(_ column: Int, buckets: Int, clamp: Bool, _ bytes: [UInt8], path: String, number: Int) throws(DatasetError) -> Int {
        let r = range(column)
        let name = Taobao.columnNames[column]
        guard let value = Self.integer(bytes, r) else {
            throw DatasetError(file: path, line: number, field: name,
                               r.isEmpty ? "empty price; expected an integer bucket in [0, \(buckets))"
                                   : "price \"\(Self.text(bytes, r))\" is not an integer; expected a bucket in [0, \(buckets))")
        }
        if value >= 0 && value < buckets { return value }
        guard clamp else {
            throw DatasetError(file: path, line: number, field: name,
                               "price \(Self.text(bytes, r)) is outside [0, \(buckets)) (the clampPrice option clamps it)")
        }
        return value < 0 ? 0 : buckets - 1
    }

    /// An optionally signed decimal integer filling all of `r`; nil for anything else. Magnitudes
    /// past 10^15 saturate there, which is still out of any bucket range and cannot overflow.
    static func integer(_ bytes: [UInt8], _ r: Range<Int>) -> Int? {
        var i = r.lowerBound
        var negative = false
        if i < r.upperBound, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
            negative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        guard i < r.upperBound else { return nil }
        var value = 0
        while i < r.upperBound {
            let digit = Int(bytes[i]) - Int(UInt8(ascii: "0"))
            guard digit >= 0 && digit <= 9 else { return nil }
            value = min(value * 10 + digit, 1_000_000_000_000_000)
            i += 1
        }
        return negative ? -value : value
    }

    /// Column text for messages, shortened so a garbage line does not flood the terminal.
    static func text(_ bytes: [UInt8], _ r: Range<Int>) -> String {
        let limit = 60
        let cut = r.count > limit ? r.lowerBound ..< r.lowerBound + limit : r
        return MessageText.escape(bytes[cut]) + (cut.count < r.count ? "..." : "")
    }
}

/// Encoded Taobao rows collecting until the reader hands them out as one `TabularData`. Every field
/// is stored as a bag, single-valued ones with exactly one id, so one layout serves all 17 fields.
struct ReferenceTaobaoChunk {
    /// How a field's column becomes ids.
    enum Kind { case hashed, bag, identity }

    static let fieldCount = Taobao.fieldNames.count
    static let columns = Taobao.fieldNames.map { Taobao.columnNames.firstIndex(of: $0)! }
    static let kinds: [Kind] = Taobao.fieldNames.map {
        Taobao.bagFieldNames.contains($0) ? .bag : $0 == Taobao.identityFieldName ? .identity : .hashed
    }
    static let buckets = Taobao.bucketSizes.map(UInt64.init)
    static let offsets = Taobao.schema.fieldOffsets.map(Int32.init)
    static let labelColumns = Taobao.labelColumnNames.map { Taobao.columnNames.firstIndex(of: $0)! }
    /// The raw key of each price bucket: `FieldHash` of its decimal text in the price field.
    static let priceKeys: [UInt64] = {
        let f = Taobao.fieldNames.firstIndex(of: Taobao.identityFieldName)!
        return (0 ..< Taobao.bucketSizes[f]).map { FieldHash.key(field: f, value: String($0)) }
    }()

    private(set) var count = 0
    private var ids: [Int32] = []
    private var bagOffsets: [Int32] = [0]
    private var labels: [Float] = []
    /// Parallel to `ids` when the reader keeps keys (`TaobaoOptions.keepKeys`), else empty.
    private var keys: [UInt64] = []
    private let keepKeys: Bool
    /// Rows reserved for after each `take()`, so a chunk's arrays grow once.
    private let reserveRows: Int

    init(reserveRows: Int, keepKeys: Bool = false) {
        self.reserveRows = reserveRows
        self.keepKeys = keepKeys
        reserve()
    }

    private mutating func reserve() {
        ids.reserveCapacity(reserveRows * (Self.fieldCount + 8))  // about 4 tags per list in the logs
        bagOffsets.reserveCapacity(reserveRows * Self.fieldCount + 1)
        labels.reserveCapacity(reserveRows * Taobao.taskNames.count)
        if keepKeys { keys.reserveCapacity(reserveRows * (Self.fieldCount + 8)) }
    }

    /// Encodes one split line. On an error the chunk is left part-way through the row; the reader
    /// stops there, so it is never handed out.
    mutating func append(_ line: ReferenceTaobaoLine, _ bytes: [UInt8], path: String, number: Int, options: TaobaoOptions) throws(DatasetError) {
        // A row adds at most one id per byte of its line plus one per field, and the line lies in
        // `bytes`, so this keeps every offset an Int32.
        guard ids.count + bytes.count + Self.fieldCount <= Int(Int32.max) else {
            throw DatasetError(file: path, line: number, "too many ids for one TabularData (2^31); read the file in smaller chunks")
        }
        for column in Self.labelColumns {
            labels.append(try line.label(column, bytes, path: path, number: number))
        }
        for f in 0 ..< Self.fieldCount {
            let r = line.range(Self.columns[f])
            switch Self.kinds[f] {
            case .hashed:
                appendHashed(f, bytes, r)
            case .bag:
                var tokenStart = r.lowerBound
                for i in r.lowerBound ... r.upperBound where i == r.upperBound || bytes[i] == UInt8(ascii: "|") {
                    if i > tokenStart { appendHashed(f, bytes, tokenStart ..< i) }
                    tokenStart = i + 1
                }
            case .identity:
                let bucket = try line.price(Self.columns[f], buckets: Taobao.bucketSizes[f], clamp: options.clampPrice,
                                            bytes, path: path, number: number)
                ids.append(Self.offsets[f] + Int32(bucket))
                if keepKeys { keys.append(Self.priceKeys[bucket]) }
            }
            bagOffsets.append(Int32(ids.count))
        }
        count += 1
    }

    /// The fused-table row of the value in `bytes[r]` in field `f`, and its key when kept.
    @inline(__always) private mutating func appendHashed(_ f: Int, _ bytes: [UInt8], _ r: Range<Int>) {
        let key = FieldHash.key(field: f, bytes, r)
        ids.append(Self.offsets[f] + Int32(key % Self.buckets[f]))
        if keepKeys { keys.append(key) }
    }

    /// The rows so far as a `TabularData`, leaving the chunk empty for the next rows.
    mutating func take() -> TabularData {
        let data = TabularData(count: count, denseWidth: 0, dense: [], fieldCount: Self.fieldCount, ids: ids,
                               taskNames: Taobao.taskNames, labels: labels, bagOffsets: bagOffsets, keys: keepKeys ? keys : nil)
        count = 0
        keys = []
        ids = []
        bagOffsets = [0]
        labels = []
        reserve()
        return data
    }
}
