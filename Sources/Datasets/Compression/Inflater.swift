/// A DEFLATE decoder (RFC 1951) written after Mark Adler's puff.c: one function per block type
/// (stored, fixed Huffman, dynamic Huffman), the Huffman decoding in `Huffman`, and every
/// malformed input a distinct `CompressionError`. Unlike puff it decodes in pieces: `next` stops
/// once it has produced about `minimum` bytes, keeping the last 32 KiB as the window later
/// back-references copy from, so a large file is inflated in bounded memory.
struct Inflater {
    var input: BitReader
    /// The last `windowSize` bytes already returned (back-references reach that far), then the bytes
    /// produced by the current `next` call.
    private var output: [UInt8] = []
    private enum State {
        case blockHeader
        case stored(remaining: Int)
        case huffman(literalLength: Huffman, distance: Huffman)
        case done
    }
    private var state = State.blockHeader
    private var lastBlock = false

    static let windowSize = 32768

    init(input: BitReader) { self.input = input }

    /// True once the final block has been decoded.
    var finished: Bool { if case .done = state { true } else { false } }

    /// Starts a new, independent stream on the same input (the next gzip member).
    mutating func restart() {
        output = []
        state = .blockHeader
        lastBlock = false
    }

    /// The next piece of output, at least `minimum` bytes unless the stream ends first; nil once it
    /// has ended (the input is then on the byte after the final block).
    mutating func next(minimum: Int = 1 << 20) throws(CompressionError) -> [UInt8]? {
        let start = output.count
        output.reserveCapacity(start + minimum + 258)
        decoding: while output.count - start < minimum {
            switch state {
            case .done:
                break decoding
            case .blockHeader:
                if lastBlock {
                    input.alignToByte()
                    state = .done
                    continue
                }
                lastBlock = try input.bits(1) == 1
                switch try input.bits(2) {
                case 0: state = .stored(remaining: try storedHeader())
                case 1: state = .huffman(literalLength: Self.fixedLiteralLength, distance: Self.fixedDistance)
                case 2:
                    let (l, d) = try dynamicTables()
                    state = .huffman(literalLength: l, distance: d)
                default: throw .invalidBlockType
                }
            case .stored(let remaining):
                let n = min(remaining, minimum - (output.count - start))
                try input.copyBytes(n, to: &output)
                state = remaining == n ? .blockHeader : .stored(remaining: remaining - n)
            case .huffman(let literalLength, let distance):
                if try codes(literalLength, distance, until: start + minimum) { state = .blockHeader }
            }
        }
        guard output.count > start else { return nil }
        let piece = Array(output[start...])
        if output.count > Self.windowSize { output.removeFirst(output.count - Self.windowSize) }
        return piece
    }

    /// A stored block's header (RFC 1951, 3.2.4): LEN and its one's complement NLEN, byte-aligned.
    private mutating func storedHeader() throws(CompressionError) -> Int {
        input.alignToByte()
        let length = try input.bits(16)
        let complement = try input.bits(16)
        guard length == ~complement & 0xFFFF else { throw .storedLengthMismatch }
        return length
    }

    static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
                               2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    /// Decodes literals and length/distance pairs (RFC 1951, 3.2.5) until the end-of-block symbol
    /// (returns true) or until the output reaches `limit` bytes (returns false; the block goes on).
    private mutating func codes(_ literalLength: Huffman, _ distance: Huffman, until limit: Int) throws(CompressionError) -> Bool {
        while output.count < limit {
            var symbol = try literalLength.decode(&input)
            if symbol < 256 {
                output.append(UInt8(truncatingIfNeeded: symbol))
                continue
            }
            if symbol == 256 { return true }
            symbol -= 257
            guard symbol < 29 else { throw .invalidSymbol }
            let length = Self.lengthBase[symbol] + (try input.bits(Self.lengthExtra[symbol]))
            let d = try distance.decode(&input)
            guard d < 30 else { throw .invalidSymbol }
            let back = Self.distanceBase[d] + (try input.bits(Self.distanceExtra[d]))
            guard back <= output.count else { throw .distanceTooFarBack }
            var from = output.count - back
            for _ in 0 ..< length {
                output.append(output[from])
                from += 1
            }
        }
        return false
    }

    /// The fixed codes of block type 1 (RFC 1951, 3.2.6).
    static let fixedLiteralLength = Huffman(lengths: (0 ..< 288).map { s -> UInt8 in s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8 })
    static let fixedDistance = Huffman(lengths: [UInt8](repeating: 5, count: 30))

    /// The order code-length code lengths are sent in (RFC 1951, 3.2.7).
    static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    /// A dynamic block's header (RFC 1951, 3.2.7): the code-length code, then the literal/length and
    /// distance code lengths it encodes, with puff's checks on each code.
    private mutating func dynamicTables() throws(CompressionError) -> (Huffman, Huffman) {
        let literalCount = try input.bits(5) + 257
        let distanceCount = try input.bits(5) + 1
        let codeLengthCount = try input.bits(4) + 4
        guard literalCount <= 286, distanceCount <= 30 else { throw .tooManyCodes }
        var codeLengths = [UInt8](repeating: 0, count: 19)
        for i in 0 ..< codeLengthCount { codeLengths[Self.codeLengthOrder[i]] = UInt8(try input.bits(3)) }
        let codeLengthCode = Huffman(lengths: codeLengths)
        guard codeLengthCode.left == 0 else { throw .incompleteCodeLengthCode }

        let total = literalCount + distanceCount
        var lengths = [UInt8](repeating: 0, count: total)
        var index = 0
        while index < total {
            let symbol = try codeLengthCode.decode(&input)
            if symbol < 16 {
                lengths[index] = UInt8(symbol)
                index += 1
                continue
            }
            var repeated: UInt8 = 0
            let times: Int
            switch symbol {
            case 16:
                guard index > 0 else { throw .repeatWithoutPreviousLength }
                repeated = lengths[index - 1]
                times = 3 + (try input.bits(2))
            case 17: times = 3 + (try input.bits(3))
            default: times = 11 + (try input.bits(7))
            }
            guard index + times <= total else { throw .repeatPastEnd }
            for _ in 0 ..< times {
                lengths[index] = repeated
                index += 1
            }
        }
        guard lengths[256] != 0 else { throw .missingEndOfBlock }
        // An incomplete code is allowed only when its codes are all one bit long, i.e. a single code (puff.c).
        let literalLength = Huffman(lengths: lengths[0 ..< literalCount])
        guard literalLength.left == 0 || (literalLength.left > 0 && literalCount == Int(literalLength.count[0]) + Int(literalLength.count[1])) else {
            throw .invalidLiteralLengthCode
        }
        let distance = Huffman(lengths: lengths[literalCount...])
        guard distance.left == 0 || (distance.left > 0 && distanceCount == Int(distance.count[0]) + Int(distance.count[1])) else {
            throw .invalidDistanceCode
        }
        return (literalLength, distance)
    }

    /// Inflates a whole raw DEFLATE stream held in memory (a Parquet GZIP page holds a gzip member;
    /// see `Gzip.decompress`).
    static func inflate(_ bytes: [UInt8]) throws(CompressionError) -> [UInt8] {
        var inflater = Inflater(input: BitReader(bytes: bytes))
        var out: [UInt8] = []
        while let piece = try inflater.next() { out += piece }
        return out
    }
}
