/// A decoder for Snappy's raw block format, the one Parquet's SNAPPY codec uses (no framing
/// format, no checksums), after Snappy's `format_description.txt`: a varint with the decompressed
/// length (section 1), then elements whose tag byte's low two bits say what follows (section 2):
/// 00 a literal (length in the tag, or in the next 1-4 bytes), 01 a copy with an 11-bit offset and
/// a length of 4-11, 10 a copy with a 2-byte offset, 11 a copy with a 4-byte offset. Every length
/// and offset is checked against the input and the output produced so far.
enum Snappy {
    static func decompress(_ input: ArraySlice<UInt8>) throws(CompressionError) -> [UInt8] {
        var p = input.startIndex
        let end = input.endIndex

        func byte() throws(CompressionError) -> Int {
            guard p < end else { throw .snappy("the input ends inside an element") }
            defer { p += 1 }
            return Int(input[p])
        }

        // Section 1: the preamble, a little-endian base-128 varint of at most 32 bits.
        var length = 0
        var shift = 0
        while true {
            guard p < end else { throw .snappy("the input ends inside the length preamble") }
            let b = Int(input[p])
            p += 1
            length |= (b & 0x7F) << shift
            if b < 0x80 { break }
            shift += 7
            guard shift < 35 else { throw .snappy("the length preamble is longer than 5 bytes") }
        }
        guard length <= Int(UInt32.max) else { throw .snappy("the declared length \(length) is over 2^32 - 1") }
        // Every element yields at least one byte per input byte read... except copies, which give
        // at most 64 per tag byte, so a declared length can only be honest up to 64x the input.
        guard length <= (end - p) * 64 + 64 else {
            throw .snappy("the declared length \(length) is more than \(end - p) bytes of input can give")
        }
        var out = [UInt8](repeating: 0, count: length)
        var w = 0  // bytes produced

        while p < end {
            let tag = Int(input[p])
            p += 1
            switch tag & 3 {
            case 0:  // literal
                var n = tag >> 2
                if n >= 60 {
                    let extra = n - 59
                    n = 0
                    for i in 0 ..< extra { n |= try byte() << (8 * i) }
                }
                n += 1
                guard n <= end - p else { throw .snappy("a literal of \(n) bytes runs past the input") }
                guard w + n <= length else { throw .snappy("more data than the declared length \(length)") }
                out[w ..< w + n] = input[p ..< p + n]
                w += n
                p += n
            default:
                let n: Int, offset: Int
                switch tag & 3 {
                case 1:
                    n = 4 + ((tag >> 2) & 7)
                    offset = (tag >> 5) << 8 | (try byte())
                case 2:
                    n = 1 + (tag >> 2)
                    offset = (try byte()) | (try byte()) << 8
                default:
                    n = 1 + (tag >> 2)
                    offset = (try byte()) | (try byte()) << 8 | (try byte()) << 16 | (try byte()) << 24
                }
                guard offset > 0, offset <= w else {
                    throw .snappy("a copy from offset \(offset) with only \(w) bytes produced")
                }
                guard w + n <= length else { throw .snappy("more data than the declared length \(length)") }
                // Byte by byte: a copy may overlap what it produces (offset < length repeats).
                var from = w - offset
                for _ in 0 ..< n {
                    out[w] = out[from]
                    w += 1
                    from += 1
                }
            }
        }
        guard w == length else { throw .snappy("\(w) bytes decoded but \(length) declared") }
        return out
    }
}
