/// Numbers in data files, parsed straight from bytes.
enum DecimalParser {
    /// Exact powers of ten as Double (10^22 is the largest one a Double holds exactly).
    private static let exactPowers: [Double] = (0 ... 22).map { (0 ..< $0).reduce(1.0) { r, _ in r * 10 } }

    /// The value of a plain decimal such as `0`, `-3`, `+0.5`, `2259.6` or `1.5e3`; nil for anything
    /// else, including `nan`, `inf`, hexadecimal and an empty field.
    ///
    /// Up to 15 significant digits without exponent (all of Census) take the fast path: an integer
    /// mantissa divided by an exact power of ten, one correctly rounded operation, so the result is
    /// the same as `Double(String)`'s. Everything else goes through `Double(String)`.
    static func parse(_ bytes: [UInt8], _ r: Range<Int>) -> Double? {
        guard !r.isEmpty else { return nil }
        var i = r.lowerBound
        var negative = false
        if bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
            negative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var fractionDigits = 0
        var seenPoint = false
        var simple = true
        while i < r.upperBound {
            let b = bytes[i]
            if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
                if digits < 15 {
                    mantissa = mantissa * 10 + UInt64(b - UInt8(ascii: "0"))
                    if seenPoint { fractionDigits += 1 }
                } else {
                    simple = false
                }
                digits += 1
            } else if b == UInt8(ascii: "."), !seenPoint {
                seenPoint = true
            } else if b == UInt8(ascii: "e") || b == UInt8(ascii: "E") {
                simple = false
                break
            } else {
                return nil
            }
            i += 1
        }
        guard digits > 0 else { return nil }
        if simple {
            let magnitude = Double(mantissa) / exactPowers[fractionDigits]
            return negative ? -magnitude : magnitude
        }
        return slowParse(bytes, r)
    }

    /// `Double(String)` for long mantissas and exponents, after checking the characters are those of
    /// a decimal (so hexadecimal, `nan` and `inf` stay rejected).
    private static func slowParse(_ bytes: [UInt8], _ r: Range<Int>) -> Double? {
        let allowed = Set("0123456789+-.eE".utf8)
        guard bytes[r].allSatisfy(allowed.contains) else { return nil }
        guard let value = Double(String(decoding: bytes[r], as: UTF8.self)), value.isFinite else { return nil }
        return value
    }
}
