/// A read position in a byte slice for the page decoders, with the primitives Parquet's
/// `Encodings.md` builds on: little-endian fixed-width integers, ULEB128 varints (and their zigzag
/// form), and bit-packing "from the least significant bit of each byte" (the order the
/// RLE/bit-packed hybrid and DELTA_BINARY_PACKED use). Nothing reads past the slice; a read that
/// would throws a `ParquetFormatError` naming `what` is being decoded.
struct ByteCursor {
    let bytes: ArraySlice<UInt8>
    private(set) var position: Int
    let what: String

    init(_ bytes: ArraySlice<UInt8>, what: String) {
        self.bytes = bytes
        position = bytes.startIndex
        self.what = what
    }

    var remaining: Int { bytes.endIndex - position }
    var isAtEnd: Bool { position == bytes.endIndex }

    func failure(_ why: String) -> ParquetFormatError { ParquetFormatError("corrupt \(what): \(why)") }

    mutating func take(_ n: Int) throws(ParquetFormatError) -> ArraySlice<UInt8> {
        guard n >= 0, n <= remaining else { throw failure("\(n) bytes needed, \(remaining) left") }
        defer { position += n }
        return bytes[position ..< position + n]
    }

    mutating func byte() throws(ParquetFormatError) -> UInt8 {
        guard position < bytes.endIndex else { throw failure("the data ends early") }
        defer { position += 1 }
        return bytes[position]
    }

    /// A little-endian unsigned integer of `n` (0 ... 8) bytes.
    mutating func littleEndian(_ n: Int) throws(ParquetFormatError) -> UInt64 {
        guard n <= remaining else { throw failure("\(n) bytes needed, \(remaining) left") }
        var v: UInt64 = 0
        for i in 0 ..< n { v |= UInt64(bytes[position + i]) << UInt64(8 * i) }
        position += n
        return v
    }

    mutating func uleb128() throws(ParquetFormatError) -> UInt64 {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            guard shift < 64 else { throw failure("a varint longer than 10 bytes") }
            v |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return v }
            shift += 7
        }
    }

    mutating func zigzag() throws(ParquetFormatError) -> Int64 {
        let v = try uleb128()
        return Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1)))
    }

    /// A varint used as a count: not more than `limit`.
    mutating func count(limit: Int, _ name: String) throws(ParquetFormatError) -> Int {
        let v = try uleb128()
        guard v <= UInt64(limit) else { throw failure("\(name) \(v) is more than \(limit)") }
        return Int(v)
    }

    /// `count` values of `width` (0 ... 64) bits packed LSB first, from the next
    /// ceil(count * width / 8) bytes, each handed to `emit` (inlined, so the hot loops of the
    /// level and index decoders have no call per value).
    @inline(__always)
    mutating func unpack(_ count: Int, width: Int, _ emit: (UInt64) -> Void) throws(ParquetFormatError) {
        let byteCount = (count * width + 7) / 8
        guard byteCount <= remaining else { throw failure("\(count) values of \(width) bits need \(byteCount) bytes, \(remaining) left") }
        if width == 0 {
            for _ in 0 ..< count { emit(0) }
            return
        }
        var p = position
        var acc: UInt64 = 0
        var bits = 0
        @inline(__always) func read(_ w: Int) -> UInt64 {
            while bits < w {
                acc |= UInt64(bytes[p]) << UInt64(bits)
                p += 1
                bits += 8
            }
            let v = w == 64 ? acc : acc & ((1 << UInt64(w)) - 1)
            acc = w == 64 ? 0 : acc >> UInt64(w)
            bits -= w
            return v
        }
        if width <= 32 {
            for _ in 0 ..< count { emit(read(width)) }
        } else {
            for _ in 0 ..< count {
                let low = read(32)
                emit(low | read(width - 32) << 32)
            }
        }
        position += byteCount
    }
}
