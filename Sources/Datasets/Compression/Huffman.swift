/// A canonical Huffman code as DEFLATE defines it (RFC 1951, section 3.2.2), stored as puff.c
/// stores it: how many codes there are of each length, and the symbols ordered by code. Decoding
/// first looks the next `fastBits` bits up in a table (most codes are that short); a longer code,
/// or too few bits left at the end of the input, falls back to puff's bit-at-a-time walk.
struct Huffman {
    static let maxBits = 15
    static let fastBits = 9
    /// `count[len]`: how many symbols have a code of `len` bits (`count[0]`: how many have none).
    private(set) var count = [Int16](repeating: 0, count: maxBits + 1)
    /// The symbols, shortest code first and by symbol within a length: canonical code order.
    private var symbol: [Int16]
    /// Indexed by the next `fastBits` input bits: `symbol << 4 | length`, or 0 when the code there
    /// is longer than `fastBits` (or unused).
    private var fast = [UInt16](repeating: 0, count: 1 << fastBits)
    /// 0: the code is complete; more: incomplete (that many codes short, in units of the longest
    /// length); less: over-subscribed, which no stream may use.
    private(set) var left = 0

    init<C: Collection>(lengths: C) where C.Element == UInt8 {
        symbol = [Int16](repeating: 0, count: lengths.count)
        for l in lengths { count[Int(l)] += 1 }
        if Int(count[0]) == lengths.count { return }  // no codes: complete, and decodes nothing
        var left = 1
        for len in 1 ... Self.maxBits {
            left <<= 1
            left -= Int(count[len])
            if left < 0 {
                self.left = left
                return
            }
        }
        self.left = left
        var offsets = [Int](repeating: 0, count: Self.maxBits + 2)
        for len in 1 ... Self.maxBits { offsets[len + 1] = offsets[len] + Int(count[len]) }
        for (s, l) in lengths.enumerated() where l != 0 {
            symbol[offsets[Int(l)]] = Int16(s)
            offsets[Int(l)] += 1
        }
        // The fast table: canonical codes are assigned in `symbol` order, counting up within a
        // length and doubling at each longer length; the stream holds a code's first bit first,
        // so a table index is the code with its bits reversed.
        var code = 0, index = 0
        for len in 1 ... Self.fastBits {
            for _ in 0 ..< Int(count[len]) {
                var reversed = 0
                for b in 0 ..< len where code & (1 << b) != 0 { reversed |= 1 << (len - 1 - b) }
                let entry = UInt16(symbol[index]) << 4 | UInt16(len)
                var i = reversed
                while i < 1 << Self.fastBits {
                    fast[i] = entry
                    i += 1 << len
                }
                code += 1
                index += 1
            }
            code <<= 1
        }
    }

    /// The next symbol. Throws `invalidSymbol` for bits that are no code of an incomplete code,
    /// and `truncated` when the input ends inside a code.
    @inline(__always)
    func decode(_ input: inout BitReader) throws(CompressionError) -> Int {
        try input.fill(Self.fastBits)
        if input.bitCount >= Self.fastBits {
            let entry = fast[input.peek(Self.fastBits)]
            if entry != 0 {
                input.drop(Int(entry & 15))
                return Int(entry >> 4)
            }
        }
        // puff.c's decode(): `code` is the bits so far, `first` the first code of this length,
        // `index` the first symbol of this length in `symbol`.
        var code = 0, first = 0, index = 0
        for len in 1 ... Self.maxBits {
            code |= try input.bits(1)
            let n = Int(count[len])
            if code - n < first { return Int(symbol[index + (code - first)]) }
            index += n
            first = (first + n) << 1
            code <<= 1
        }
        throw .invalidSymbol
    }
}
