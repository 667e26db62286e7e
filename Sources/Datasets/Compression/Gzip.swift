/// The gzip file format (RFC 1952) around `Inflater`: each member's header (magic 1f 8b, method 8,
/// flags and the optional extra field, name, comment and header CRC they announce), its DEFLATE
/// data, and its trailer, whose CRC-32 and length (mod 2^32) of the decompressed bytes are checked
/// so that a corrupt or cut file is refused rather than read short. Members may follow one another
/// (`cat a.gz b.gz`), as `gzip -d` allows; anything else after the last member is an error.
struct GzipDecoder {
    private var inflater: Inflater
    private var crc = CRC32()
    private var size: UInt32 = 0
    private var inMember = false
    private var members = 0
    private var ended = false

    /// Decodes the gzip data that `refill` hands over piece by piece (nil at its end).
    init(refill: @escaping () throws(CompressionError) -> [UInt8]?) {
        inflater = Inflater(input: BitReader(refill: refill))
    }

    init(bytes: [UInt8]) {
        inflater = Inflater(input: BitReader(bytes: bytes))
    }

    /// The next piece of decompressed data (at least `minimum` bytes unless the data ends first), or
    /// nil after the last member's trailer has been checked.
    mutating func next(minimum: Int = 1 << 20) throws(CompressionError) -> [UInt8]? {
        while !ended {
            if !inMember {
                if members > 0, try inflater.input.atEnd() {
                    ended = true
                    return nil
                }
                try readHeader()
                inMember = true
                crc = CRC32()
                size = 0
                inflater.restart()
            }
            if let piece = try inflater.next(minimum: minimum) {
                crc.update(piece)
                size &+= UInt32(truncatingIfNeeded: piece.count)
                return piece
            }
            try readTrailer()
            inMember = false
            members += 1
        }
        return nil
    }

    private mutating func readHeader() throws(CompressionError) {
        let id1: UInt8, id2: UInt8
        do {
            id1 = try inflater.input.byte()
            id2 = try inflater.input.byte()
        } catch .truncated {
            throw members == 0 ? .truncated : .trailingData
        }
        guard id1 == 0x1F, id2 == 0x8B else { throw members == 0 ? .notGzip : .trailingData }
        let method = try inflater.input.byte()
        guard method == 8 else { throw .unsupportedMethod(Int(method)) }
        let flags = try inflater.input.byte()
        guard flags & 0xE0 == 0 else { throw .reservedFlags }
        for _ in 0 ..< 6 { _ = try inflater.input.byte() }  // MTIME, XFL, OS
        if flags & 0x04 != 0 {  // FEXTRA
            let length = try inflater.input.bits(16)
            for _ in 0 ..< length { _ = try inflater.input.byte() }
        }
        if flags & 0x08 != 0 { while try inflater.input.byte() != 0 {} }  // FNAME
        if flags & 0x10 != 0 { while try inflater.input.byte() != 0 {} }  // FCOMMENT
        if flags & 0x02 != 0 { _ = try inflater.input.bits(16) }  // FHCRC
    }

    private mutating func readTrailer() throws(CompressionError) {
        inflater.input.alignToByte()
        let expectedCRC = UInt32(try inflater.input.bits(16)) | UInt32(try inflater.input.bits(16)) << 16
        let expectedSize = UInt32(try inflater.input.bits(16)) | UInt32(try inflater.input.bits(16)) << 16
        guard expectedCRC == crc.value else { throw .checksumMismatch(expected: expectedCRC, actual: crc.value) }
        guard expectedSize == size else { throw .lengthMismatch(expected: expectedSize, actual: size) }
    }

    /// Decompresses a whole gzip stream held in memory (a Parquet GZIP page).
    static func decompress(_ bytes: [UInt8]) throws(CompressionError) -> [UInt8] {
        var decoder = GzipDecoder(bytes: bytes)
        var out: [UInt8] = []
        while let piece = try decoder.next() { out += piece }
        return out
    }
}
