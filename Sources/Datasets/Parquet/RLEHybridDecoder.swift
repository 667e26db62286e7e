/// The RLE/bit-packed hybrid of Parquet's `Encodings.md` ("Run Length Encoding / Bit-Packing
/// Hybrid (RLE = 3)"), used for repetition and definition levels, dictionary indices and booleans:
/// runs, each a ULEB128 header whose low bit says which kind follows. An RLE run (bit 0) is a
/// count (header >> 1) and one value in ceil(bit-width / 8) little-endian bytes; a bit-packed run
/// (bit 1) is (header >> 1) groups of 8 values packed LSB first. Also the deprecated `BIT_PACKED`
/// level encoding ("Bit-packed (Deprecated) (BIT_PACKED = 4)"), which packs MSB first.
enum RLEHybridDecoder {
    /// `count` values of `bitWidth` (0 ... 32) bits from `cursor`, which holds exactly the encoded
    /// runs (or more: decoding stops at `count`). A last bit-packed run may stop short of its
    /// padding, as long as the values wanted are there.
    static func decode(_ cursor: inout ByteCursor, count: Int, bitWidth: Int) throws(ParquetFormatError) -> [Int32] {
        guard (0 ... 32).contains(bitWidth) else { throw cursor.failure("bit width \(bitWidth) is over 32") }
        var out = [Int32]()
        out.reserveCapacity(min(count, 1 << 16))
        let valueBytes = (bitWidth + 7) / 8
        let mask: UInt64 = bitWidth == 32 ? 0xFFFF_FFFF : (1 << UInt64(bitWidth)) - 1
        while out.count < count {
            let header = try cursor.uleb128()
            guard header >> 1 <= UInt64(Int32.max) else { throw cursor.failure("a run of \(header >> 1) values") }
            let n = Int(header >> 1)
            if header & 1 == 0 {
                guard n > 0 else { throw cursor.failure("an RLE run of no values") }
                let value = try cursor.littleEndian(valueBytes)
                guard value & ~mask == 0 else { throw cursor.failure("the RLE value \(value) does not fit \(bitWidth) bits") }
                let take = min(n, count - out.count)
                out.append(contentsOf: repeatElement(Int32(bitPattern: UInt32(truncatingIfNeeded: value)), count: take))
            } else {
                guard n > 0 else { throw cursor.failure("a bit-packed run of no groups") }
                let values = n * 8
                let take = min(values, count - out.count)
                let runBytes = values * bitWidth / 8
                let available = cursor.remaining
                var done = 0
                if bitWidth <= 8 {
                    // Whole groups of 8 values at a time: the group's `bitWidth` bytes in one word.
                    let groups = min(take / 8, cursor.remaining / max(bitWidth, 1))
                    let bytes = try cursor.take(groups * bitWidth)
                    var p = bytes.startIndex
                    let w = UInt64(bitWidth)
                    for _ in 0 ..< groups {
                        var word: UInt64 = 0
                        for k in 0 ..< bitWidth { word |= UInt64(bytes[p + k]) << UInt64(8 * k) }
                        p += bitWidth
                        for k in 0 ..< UInt64(8) { out.append(Int32(truncatingIfNeeded: (word >> (k * w)) & mask)) }
                    }
                    done = groups * 8
                }
                try cursor.unpack(take - done, width: bitWidth) { out.append(Int32(bitPattern: UInt32(truncatingIfNeeded: $0))) }
                // Skip the rest of the run (its unused values), or as much of it as is there.
                let used = available - cursor.remaining
                _ = try cursor.take(min(runBytes - used, cursor.remaining))
            }
        }
        return out
    }

    /// Levels in the v1 form: a 4-byte little-endian length, then that many bytes of runs.
    static func decodeLengthPrefixed(_ cursor: inout ByteCursor, count: Int, bitWidth: Int) throws(ParquetFormatError) -> [Int32] {
        let length = Int(try cursor.littleEndian(4))
        var runs = ByteCursor(try cursor.take(length), what: cursor.what)
        return try decode(&runs, count: count, bitWidth: bitWidth)
    }

    /// The deprecated BIT_PACKED levels: `count` values packed MSB first, with no header.
    static func decodeBitPacked(_ cursor: inout ByteCursor, count: Int, bitWidth: Int) throws(ParquetFormatError) -> [Int32] {
        guard (0 ... 32).contains(bitWidth) else { throw cursor.failure("bit width \(bitWidth) is over 32") }
        let bytes = try cursor.take((count * bitWidth + 7) / 8)
        var out = [Int32]()
        out.reserveCapacity(count)
        var bit = 0
        for _ in 0 ..< count {
            var v: UInt32 = 0
            for _ in 0 ..< bitWidth {
                let b = bytes[bytes.startIndex + bit / 8] >> UInt8(7 - bit % 8) & 1
                v = v << 1 | UInt32(b)
                bit += 1
            }
            out.append(Int32(bitPattern: v))
        }
        return out
    }
}
