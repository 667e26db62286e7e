/// The input side of DEFLATE and gzip: bytes taken from an in-memory buffer that a `refill`
/// closure can replace with the next piece of a file, read as a little-endian bit stream
/// (RFC 1951, section 3.1.1: "data elements are packed into bytes starting with the least
/// significant bit"). It never reads past the bytes it was given: asking for more than remain
/// throws `CompressionError.truncated`.
struct BitReader {
    private var input: [UInt8]
    private var position = 0
    /// Gives the next piece of the compressed input, or nil at its end.
    private let refill: (() throws(CompressionError) -> [UInt8]?)?
    private var ended: Bool
    /// Bits read from the input but not used yet, the next one in bit 0.
    private var buffer: UInt64 = 0
    private(set) var bitCount = 0

    init(bytes: [UInt8]) {
        input = bytes
        refill = nil
        ended = true
    }

    init(refill: @escaping () throws(CompressionError) -> [UInt8]?) {
        input = []
        self.refill = refill
        ended = false
    }

    /// Replaces the exhausted buffer with the next non-empty piece; false at the end of the input.
    private mutating func more() throws(CompressionError) -> Bool {
        while position == input.count {
            guard !ended, let refill else { return false }
            guard let next = try refill() else {
                ended = true
                return false
            }
            input = next
            position = 0
        }
        return true
    }

    /// Makes at least `n` (at most 57) bits available, or throws `truncated`.
    @inline(__always)
    mutating func need(_ n: Int) throws(CompressionError) {
        while bitCount < n {
            if position == input.count, !(try more()) { throw .truncated }
            buffer |= UInt64(input[position]) << UInt64(bitCount)
            position += 1
            bitCount += 8
        }
    }

    /// Makes up to `n` bits available, fewer only at the end of the input (no error).
    @inline(__always)
    mutating func fill(_ n: Int) throws(CompressionError) {
        while bitCount < n {
            if position == input.count, !(try more()) { return }
            buffer |= UInt64(input[position]) << UInt64(bitCount)
            position += 1
            bitCount += 8
        }
    }

    /// The next `n` bits (0 ... 32) without using them; `need(n)` or `fill(n)` first.
    @inline(__always)
    func peek(_ n: Int) -> Int { Int(truncatingIfNeeded: buffer & ((1 << UInt64(n)) &- 1)) }

    @inline(__always)
    mutating func drop(_ n: Int) {
        buffer >>= UInt64(n)
        bitCount -= n
    }

    /// The next `n` bits (0 ... 32) as a number, the first bit read in bit 0.
    @inline(__always)
    mutating func bits(_ n: Int) throws(CompressionError) -> Int {
        try need(n)
        let v = peek(n)
        drop(n)
        return v
    }

    /// Skips to the next byte boundary (before a stored block, or after the last block).
    mutating func alignToByte() { drop(bitCount % 8) }

    /// The next whole byte; on a byte boundary only.
    mutating func byte() throws(CompressionError) -> UInt8 { UInt8(try bits(8)) }

    /// Appends the next `count` bytes to `output`; on a byte boundary only.
    mutating func copyBytes(_ count: Int, to output: inout [UInt8]) throws(CompressionError) {
        var left = count
        while left > 0 && bitCount >= 8 {
            output.append(try byte())
            left -= 1
        }
        while left > 0 {
            if position == input.count, !(try more()) { throw .truncated }
            let n = min(left, input.count - position)
            output.append(contentsOf: input[position ..< position + n])
            position += n
            left -= n
        }
    }

    /// True when every input byte has been used (after `alignToByte`).
    mutating func atEnd() throws(CompressionError) -> Bool {
        if bitCount != 0 { return false }
        return !(try more())
    }
}
