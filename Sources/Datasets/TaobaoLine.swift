/// The columns of one Taobao line, found as byte ranges so that a row is parsed without making a
/// String per field. The reader reuses one value for every line.
struct TaobaoLine {
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
