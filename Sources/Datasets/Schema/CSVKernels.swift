import Foundation

/// The byte kernels of the schema reader's fast path: a record without quote bytes split by
/// 8-byte words, its dense fields parsed, its sparse and tag values hashed. They are the only code
/// of the reader that touches pointers; each handles the common case only and says so when it
/// cannot (a quote, a number that is not a plain decimal, a value out of range), and the caller
/// then encodes the record with the checked path (`SchemaEncoding.encodeChecked`), which gives
/// the same values and every error message. A record's fields are given by `ends`: field `k`
/// runs from `start` (k = 0) or `ends[k - 1] + 1` to `ends[k]`.
enum CSVKernels {
    /// One dense feature of the plan, for `parseDense`.
    struct DenseSpec {
        var column: Int
        var defaultValue: Double
        /// 0 none, 1 log1p, 2 `(x - shift) / scale`.
        var transform: UInt8
        var shift: Double, scale: Double
        /// Drop spaces around the value (`DataSchema.trim`).
        var trim = true
    }

    /// One sparse or tag feature of the plan, for `hashFields`.
    struct FieldSpec {
        var column: Int
        /// FNV-1a's state after the field index (`FieldHash`'s definition), so each value costs only
        /// its own bytes.
        var seed: UInt64
        var buckets: UInt64
        /// `buckets - 1` when `buckets` is a power of two (then `key % buckets == key & mask`).
        var mask: UInt64
        var powerOfTwo: Bool
        var offset: Int32
        var isTags: Bool
        var separator: UInt8
        /// Drop spaces around the value and each tag (`DataSchema.trim`).
        var trim = true
        /// `"vocabulary": "identity"`: the value is its own row below `buckets`.
        var identity = false
    }

    static let ones: UInt64 = 0x0101_0101_0101_0101
    static let lows: UInt64 = 0x7f7f_7f7f_7f7f_7f7f
    static let highs: UInt64 = 0x8080_8080_8080_8080

    /// The high bit of each byte of `x` that is zero (exactly those: no carry crosses a byte).
    @inline(__always) static func zeroBytes(_ x: UInt64) -> UInt64 {
        ~(((x & lows) &+ lows) | x) & highs
    }

    /// Splits the record `bytes[start ..< end]` at `delimiter` into `ends`: the number of fields;
    /// -1 when the record holds a quote byte (the quoted path splits it), -2 when it has more than
    /// `limit` fields. `ends` needs room for `limit + 2` (two unused slots are written over).
    static func splitUnquoted(_ bytes: UnsafeBufferPointer<UInt8>, start: Int, end: Int, delimiter: UInt8, quote: UInt8,
                              ends: UnsafeMutableBufferPointer<Int>, limit: Int) -> Int {
        assert(start >= 0 && end <= bytes.count && limit + 2 <= ends.count)
        guard let base = bytes.baseAddress, let out = ends.baseAddress else { return -1 }
        // A quote anywhere sends the record to the quoted path: one `memchr` (vector code) finds it
        // sooner than a test in every word.
        if end > start, memchr(base + start, Int32(quote), end - start) != nil { return -1 }
        let raw = UnsafeRawPointer(base)
        let delimiters = ones &* UInt64(delimiter)
        var n = 0, i = start
        while i + 8 <= end {
            let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            var found = zeroBytes(word ^ delimiters)
            let c = found.nonzeroBitCount
            guard n &+ c <= limit else { return -2 }
            // A word holds 0, 1 or 2 delimiters nearly always: write two without branching on how
            // many (a slot past the last is overwritten later), loop only for more.
            out[n] = i &+ (found.trailingZeroBitCount >> 3)
            found &= found &- 1
            out[n &+ 1] = i &+ (found.trailingZeroBitCount >> 3)
            if c > 2 {
                var k = n &+ 2
                found &= found &- 1
                while found != 0 {
                    out[k] = i &+ (found.trailingZeroBitCount >> 3)
                    k &+= 1
                    found &= found &- 1
                }
            }
            n &+= c
            i &+= 8
        }
        while i < end {
            if base[i] == delimiter {
                guard n < limit else { return -2 }
                ends[n] = i
                n += 1
            }
            i += 1
        }
        guard n < limit else { return -2 }
        ends[n] = end
        return n + 1
    }

    /// Finds the records of `bytes` from `from` on: each record ending in a line break outside
    /// quotes is appended to `ends` as its range (from `start`, without the `\n` or `\r\n`) and the
    /// number of line breaks inside its quotes; `start` moves past it. `quoted` and `inside` carry
    /// the scan's state across calls. Where no quote lies ahead, records are found by `memchr`.
    static func findRecords(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, quote: UInt8, quoted: inout Bool, inside: inout Int,
                            start: inout Int, ends: inout [(Range<Int>, Int)]) {
        guard let base = bytes.baseAddress else { return }
        let raw = UnsafeRawPointer(base)
        let n = bytes.count
        func find(_ byte: UInt8, from i: Int) -> Int {
            guard i < n, let p = memchr(raw + i, Int32(byte), n - i) else { return n }
            return raw.distance(to: UnsafeRawPointer(p))
        }
        func breaks(_ lo: Int, _ hi: Int) -> Int {
            var c = 0
            for i in lo ..< hi where base[i] == 0x0A { c += 1 }
            return c
        }
        var i = from
        var nextQuote = -1  // where the next quote is, once looked for (n: none)
        while i < n {
            if quoted {
                let close = find(quote, from: i)
                inside += breaks(i, close)
                if close == n { return }
                quoted = false
                i = close + 1
                continue
            }
            if nextQuote < i { nextQuote = find(quote, from: i) }
            let newline = find(0x0A, from: i)
            if nextQuote < newline {
                quoted = true
                i = nextQuote + 1
                continue
            }
            if newline == n { return }
            let end = newline > start && base[newline - 1] == 0x0D ? newline - 1 : newline
            ends.append((start ..< end, inside))
            inside = 0
            start = newline + 1
            i = newline + 1
        }
    }

    /// Field `k`'s bytes, without leading and trailing spaces when `trim` (as `SchemaEncoding.trimmed`).
    @inline(__always) static func field(_ base: UnsafePointer<UInt8>, _ start: Int, _ ends: UnsafeBufferPointer<Int>, _ k: Int,
                                        trim: Bool = true) -> (Int, Int) {
        var lo = k == 0 ? start : ends[k - 1] + 1, hi = ends[k]
        if trim {
            while lo < hi && base[lo] == 0x20 { lo += 1 }
            while hi > lo && base[hi - 1] == 0x20 { hi -= 1 }
        }
        return (lo, hi)
    }

    /// The row of an identity value `base[lo ..< hi]` written the one way its key is defined by:
    /// plain digits without a leading zero, below `buckets`. nil for anything else (a sign, a
    /// leading zero, out of range, not a number), which the checked path reads or rejects.
    @inline(__always) static func identityRow(_ base: UnsafePointer<UInt8>, _ lo: Int, _ hi: Int, buckets: UInt64) -> UInt64? {
        guard hi > lo, hi &- lo <= 15, base[lo] != UInt8(ascii: "0") || hi &- lo == 1 else { return nil }
        var value: UInt64 = 0, i = lo
        while i < hi {
            let d = base[i] &- UInt8(ascii: "0")
            guard d < 10 else { return nil }
            value = value &* 10 &+ UInt64(d)
            i &+= 1
        }
        return value < buckets ? value : nil
    }

    /// Exact powers of ten as Double, as `DecimalParser`'s.
    static let exactPowers: [Double] = (0 ... 22).map { (0 ..< $0).reduce(1.0) { r, _ in r * 10 } }

    /// `DecimalParser.parse`'s fast path on `base[lo ..< hi]` (non-empty): the same value for a
    /// plain decimal of at most 15 digits without exponent; nil for anything else (which the
    /// checked path then parses or rejects).
    @inline(__always) static func plainDecimal(_ base: UnsafePointer<UInt8>, _ lo: Int, _ hi: Int, _ powers: UnsafePointer<Double>) -> Double? {
        var i = lo
        let negative = base[i] == UInt8(ascii: "-")
        if negative || base[i] == UInt8(ascii: "+") { i += 1 }
        var mantissa: UInt64 = 0
        var digits = 0, fractionDigits = 0
        var seenPoint = false
        while i < hi {
            let d = base[i] &- UInt8(ascii: "0")
            if d < 10 {
                mantissa = mantissa &* 10 &+ UInt64(d)
                digits += 1
                if seenPoint { fractionDigits += 1 }
            } else if base[i] == UInt8(ascii: "."), !seenPoint {
                seenPoint = true
            } else {
                return nil
            }
            i += 1
        }
        guard digits > 0, digits <= 15 else { return nil }
        let magnitude = Double(mantissa) / powers[fractionDigits]
        return negative ? -magnitude : magnitude
    }

    /// The dense features of one split record, transformed, into `out` (one Float each); false
    /// when one is not a plain decimal or its result is not a finite Float (the checked path then
    /// decides).
    static func parseDense(_ bytes: UnsafeBufferPointer<UInt8>, start: Int, ends: UnsafeBufferPointer<Int>,
                           specs: UnsafeBufferPointer<DenseSpec>, out: UnsafeMutableBufferPointer<Float>) -> Bool {
        assert(out.count >= specs.count)
        guard let base = bytes.baseAddress else { return specs.isEmpty }
        let n = bytes.count
        let powers = powerTable, masks = memoMasks
        for d in specs.indices {
            let spec = specs[d]
            let (lo, hi) = field(base, start, ends, spec.column, trim: spec.trim)
            var x: Double
            if lo == hi {
                x = spec.defaultValue
            } else {
                guard let value = decimal(base, lo, hi, n, powers, masks) else { return false }
                x = value
            }
            switch spec.transform {
            case 0: break
            case 1:
                guard x > -1 else { return false }
                x = Foundation.log1p(x)
            default:
                x = (x - spec.shift) / spec.scale
            }
            let value = Float(x)
            guard value.isFinite else { return false }
            out[d] = value
        }
        return true
    }

    /// FNV-1a over `base[lo ..< hi]` from `h`.
    @inline(__always) static func fnv(_ h: UInt64, _ base: UnsafePointer<UInt8>, _ lo: Int, _ hi: Int) -> UInt64 {
        var h = h, i = lo
        while i < hi {
            h = (h ^ UInt64(base[i])) &* 0x0000_0100_0000_01b3
            i += 1
        }
        return h
    }

    /// The fused-table row of a key in field `spec`.
    @inline(__always) static func row(_ key: UInt64, _ spec: FieldSpec) -> Int32 {
        spec.offset + Int32(truncatingIfNeeded: spec.powerOfTwo ? key & spec.mask : key % spec.buckets)
    }

    /// The ids of one split record's sparse and tag features, in feature order, into `ids` (and
    /// their keys into `keys` when given); `fieldEnds[f]` is the number of ids written up to the
    /// end of feature `f`. Returns the number of ids. `ids` (and `keys`) must have room for one id
    /// per sparse feature plus one per byte of the record; `memo` holds `memoSlots` entries per
    /// feature, kept from record to record. -1 when an identity value is not a plain row number
    /// in range (the checked path then decides).
    static func hashFields(_ bytes: UnsafeBufferPointer<UInt8>, start: Int, ends: UnsafeBufferPointer<Int>, specs: UnsafeBufferPointer<FieldSpec>,
                           ids: UnsafeMutableBufferPointer<Int32>, keys: UnsafeMutableBufferPointer<UInt64>?,
                           fieldEnds: UnsafeMutableBufferPointer<Int32>, memo: MemoTable) -> Int {
        assert(memo.count >= specs.count * memoSlots)
        guard let base = bytes.baseAddress else { return 0 }
        let memoBase = memo.entries, states = memo.states, masks = memoMasks
        let n = bytes.count
        memo.records.pointee &+= 1
        if memo.records.pointee >= memoWindow { memo.review() }
        var m = 0
        for f in 0 ..< specs.count {
            let a = specs[f]
            if a.isTags {
                let lo = a.column == 0 ? start : ends[a.column &- 1] &+ 1, hi = ends[a.column]
                var tokenStart = lo
                var i = lo
                while i <= hi {
                    if i == hi || base[i] == a.separator {
                        var tlo = tokenStart, thi = i
                        if a.trim {
                            while tlo < thi && base[tlo] == 0x20 { tlo &+= 1 }
                            while thi > tlo && base[thi &- 1] == 0x20 { thi &-= 1 }
                        }
                        if tlo < thi {
                            let key = FieldHash.mix(fnv(a.seed, base, tlo, thi))
                            ids[m] = row(key, a)
                            keys?[m] = key
                            m &+= 1
                        }
                        tokenStart = i &+ 1
                    }
                    i &+= 1
                }
            } else if a.identity {
                let (lo, hi) = field(base, start, ends, a.column, trim: a.trim)
                guard let value = identityRow(base, lo, hi, buckets: a.buckets) else { return -1 }
                let key = FieldHash.mix(fnv(a.seed, base, lo, hi))
                ids[m] = a.offset &+ Int32(truncatingIfNeeded: value)
                keys?[m] = key
                m &+= 1
            } else {
                let (lo, hi) = field(base, start, ends, a.column, trim: a.trim)
                let key = key(a, base, lo, hi, n, memoBase + f &* memoSlots, states + f, masks)
                ids[m] = row(key, a)
                keys?[m] = key
                m &+= 1
            }
            fieldEnds[f] = Int32(truncatingIfNeeded: m)
        }
        return m
    }
}

extension FieldHash {
    /// FNV-1a's state after field `field`'s index bytes: `key(field:_:_:)` continues from it.
    static func seed(field: Int) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        let index = UInt32(truncatingIfNeeded: field)
        for shift in stride(from: 0, to: 32, by: 8) {
            h = (h ^ UInt64((index >> UInt32(shift)) & 0xff)) &* 0x0000_0100_0000_01b3
        }
        return h
    }
}
