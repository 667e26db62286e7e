/// The delta encodings of Parquet's `Encodings.md`, which pyarrow writes with data page v2:
/// `DELTA_BINARY_PACKED` (= 5) for INT32/INT64: a header (block size, miniblocks per block, value
/// count, first value as a zigzag varint), then blocks of a zigzag minimum delta, one bit width per
/// miniblock, and the miniblocks' (delta - minimum) values packed LSB first; `DELTA_LENGTH_BYTE_ARRAY`
/// (= 6): the lengths delta-encoded, then the bytes back to back; `DELTA_BYTE_ARRAY` (= 7): prefix
/// lengths and suffix lengths delta-encoded, then the suffixes, each value the previous value's
/// prefix followed by its suffix. Arithmetic wraps, as the spec says it does.
enum DeltaDecoders {
    /// Decodes one DELTA_BINARY_PACKED run: all the values its header announces (`expected`, when
    /// given, must be that count). The cursor ends after the last miniblock that holds a value.
    static func binaryPacked(_ cursor: inout ByteCursor, expected: Int?) throws(ParquetFormatError) -> [Int64] {
        let blockSize = try cursor.count(limit: 1 << 20, "block size")
        let miniblocks = try cursor.count(limit: blockSize, "miniblocks per block")
        let total = try cursor.count(limit: Int(Int32.max), "value count")
        guard blockSize > 0, blockSize % 128 == 0, miniblocks > 0, (blockSize / miniblocks) % 32 == 0, blockSize % miniblocks == 0 else {
            throw cursor.failure("block size \(blockSize) with \(miniblocks) miniblocks (the block size must be a multiple of 128, and each miniblock a multiple of 32)")
        }
        if let expected, total != expected { throw cursor.failure("\(total) values where \(expected) were expected") }
        var out = [Int64]()
        guard total > 0 else {
            _ = try cursor.zigzag()  // the first value is still written
            return out
        }
        out.reserveCapacity(min(total, 1 << 16))
        var value = try cursor.zigzag()
        out.append(value)
        let perMiniblock = blockSize / miniblocks
        while out.count < total {
            let minDelta = try cursor.zigzag()
            let widths = try cursor.take(miniblocks)
            for w in widths {
                guard out.count < total else { break }
                guard w <= 64 else { throw cursor.failure("a miniblock bit width of \(w)") }
                let take = min(perMiniblock, total - out.count)
                // The miniblock is padded to `perMiniblock` values; only the wanted ones are kept.
                let start = cursor.position
                try cursor.unpack(take, width: Int(w)) { d in
                    value = value &+ minDelta &+ Int64(bitPattern: d)
                    out.append(value)
                }
                let full = perMiniblock * Int(w) / 8
                _ = try cursor.take(min(full - (cursor.position - start), cursor.remaining))
            }
        }
        return out
    }

    /// DELTA_LENGTH_BYTE_ARRAY: `count` byte strings.
    static func lengthByteArray(_ cursor: inout ByteCursor, count: Int) throws(ParquetFormatError) -> ParquetByteArrays {
        let lengths = try binaryPacked(&cursor, expected: count)
        var out = ParquetByteArrays()
        for n in lengths {
            guard n >= 0, n <= Int64(cursor.remaining) else { throw cursor.failure("a byte array of length \(n) with \(cursor.remaining) bytes left") }
            out.append(try cursor.take(Int(n)))
        }
        return out
    }

    /// DELTA_BYTE_ARRAY: `count` byte strings from prefixes of their predecessors and suffixes.
    static func byteArray(_ cursor: inout ByteCursor, count: Int) throws(ParquetFormatError) -> ParquetByteArrays {
        let prefixes = try binaryPacked(&cursor, expected: count)
        let suffixes = try lengthByteArray(&cursor, count: count)
        var out = ParquetByteArrays()
        var previous = ArraySlice<UInt8>()
        for i in 0 ..< count {
            let p = prefixes[i]
            guard p >= 0, p <= Int64(previous.count) else { throw cursor.failure("a prefix of \(p) bytes of a \(previous.count)-byte value") }
            var value = Array(previous.prefix(Int(p)))
            value += suffixes[i]
            out.append(value)
            previous = value[...]
        }
        return out
    }
}
