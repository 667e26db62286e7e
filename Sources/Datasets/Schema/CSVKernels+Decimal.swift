/// Short plain decimals read 8 bytes at a time: nearly every dense value of a data file (`48`,
/// `4905.49`, `0.125`) fits in one word, and reading it without a loop over its bytes spares the
/// branch mispredictions such a loop costs on values of random length (one at the end of the digits,
/// one at the point). The value is the one `plainDecimal` (and `DecimalParser`) gives: the same
/// integer mantissa divided by the same exact power of ten.
extension CSVKernels {
    /// The value of the 8 digits of `digits` (byte values 0 to 9, the most significant in the lowest
    /// byte): three multiplies instead of eight (the usual SWAR reduction: pairs, quads, all eight).
    @inline(__always) static func eightDigits(_ digits: UInt64) -> UInt64 {
        var v = (digits &* (10 &* 256 &+ 1)) &>> 8
        v = ((v & 0x00ff_00ff_00ff_00ff) &* (100 &* 65536 &+ 1)) &>> 16
        return ((v & 0x0000_ffff_0000_ffff) &* (10_000 &* (1 &<< 32) &+ 1)) &>> 32
    }

    /// `plainDecimal` for a value of 1 to 8 bytes without sign, at `base[lo ..< lo + length]`, with
    /// 8 bytes readable from `lo`: its digits and at most one point, read from one word without a
    /// loop. Nil when the value is not of that form (a sign, a second point, another byte, no
    /// digit); `plainDecimal` then decides. `masks`: `memoMasks` (`masks[6 k]` keeps the low `k`
    /// bytes of a word).
    @inline(__always) static func shortDecimal(_ base: UnsafePointer<UInt8>, _ lo: Int, _ length: Int, _ powers: UnsafePointer<Double>,
                                               _ masks: UnsafePointer<UInt64>) -> Double? {
        let word = UInt64(littleEndian: UnsafeRawPointer(base + lo).loadUnaligned(as: UInt64.self))
        // Each byte minus "0" (a digit becomes 0 to 9, the point 0x1e), zero past the value.
        let valueMask = masks[6 &* length]
        let t = (word ^ (ones &* 0x30)) & valueMask
        let points = zeroBytes(t ^ (ones &* 0x1e)) & valueMask
        let hasPoint = points != 0
        let p = hasPoint ? points.trailingZeroBitCount &>> 3 : length
        let count = hasPoint ? length &- 1 : length
        // The digits without the point: those before it, then those after it moved down one byte.
        let after = hasPoint ? (t &>> UInt64(8 &* p)) &>> 8 : 0
        let digits = (t & masks[6 &* p]) | (after &<< UInt64((8 &* p) & 63))
        // Every byte a digit (below 10): no byte sets its high bit when 0x76 is added (without a
        // carry across bytes), nor has it set. A second point or a sign fails here.
        guard count > 0, (((digits & lows) &+ (ones &* 0x76)) | digits) & highs == 0 else { return nil }
        let mantissa = Double(eightDigits(digits &<< UInt64(8 &* (8 &- count))))
        // An integer is its mantissa (divided by 10^0 it would be the same): no division to wait for.
        if !hasPoint { return mantissa }
        return mantissa / powers[length &- 1 &- p]
    }

    /// `exactPowers` where a kernel reads them (allocated once, never freed).
    nonisolated(unsafe) static let powerTable: UnsafePointer<Double> = {
        let table = UnsafeMutablePointer<Double>.allocate(capacity: exactPowers.count)
        table.initialize(from: exactPowers, count: exactPowers.count)
        return UnsafePointer(table)
    }()

    /// The value of the plain decimal `base[lo ..< hi]` (non-empty; `n` bytes readable from `base`):
    /// `shortDecimal` when it applies, else `plainDecimal`; nil for anything else. `masks`:
    /// `memoMasks`.
    @inline(__always) static func decimal(_ base: UnsafePointer<UInt8>, _ lo: Int, _ hi: Int, _ n: Int, _ powers: UnsafePointer<Double>,
                                          _ masks: UnsafePointer<UInt64>) -> Double? {
        if hi &- lo <= 8, lo &+ 8 <= n, let value = shortDecimal(base, lo, hi &- lo, powers, masks) { return value }
        return plainDecimal(base, lo, hi, powers)
    }
}
