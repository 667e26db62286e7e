/// CRC-32C (Castagnoli, the checksum of iSCSI, ext4 and LevelDB's logs) over little-endian 32-bit
/// words, four table look-ups per word ("slicing by 4"). The row files are sequences of words, so
/// a checksum over words is the same as the standard byte-wise CRC-32C of the file's bytes.
/// A CRC, not a hash: any burst error up to 32 bits and any odd number of flipped bits is caught.
struct CRC32C {
    private(set) var state: UInt32 = 0xFFFF_FFFF

    init() {}

    /// The finished checksum of everything fed so far.
    var value: UInt32 { ~state }

    mutating func update(_ word: UInt32) {
        let t = CRC32C.table
        let x = state ^ word
        state = t[768 + Int(x & 0xFF)] ^ t[512 + Int((x >> 8) & 0xFF)] ^ t[256 + Int((x >> 16) & 0xFF)] ^ t[Int(x >> 24)]
    }

    mutating func update(_ words: [UInt32], from start: Int, count: Int) {
        let t = CRC32C.table
        var s = state
        for i in start..<(start + count) {
            let x = s ^ words[i]
            s = t[768 + Int(x & 0xFF)] ^ t[512 + Int((x >> 8) & 0xFF)] ^ t[256 + Int((x >> 16) & 0xFF)] ^ t[Int(x >> 24)]
        }
        state = s
    }

    /// Feeds bytes one at a time, for data that is not a whole number of words (TFRecord
    /// framing). Words fed with `update(_:)` and bytes fed here may be mixed: a word is its four
    /// bytes in little-endian order.
    mutating func update(bytes: some Sequence<UInt8>) {
        let t = CRC32C.table
        var s = state
        for b in bytes { s = (s >> 8) ^ t[Int((s ^ UInt32(b)) & 0xFF)] }
        state = s
    }

    /// The standard byte-wise CRC-32C of `bytes` (RFC 3720's: "123456789" gives 0xE3069283).
    static func of(bytes: some Sequence<UInt8>) -> UInt32 {
        var c = CRC32C()
        c.update(bytes: bytes)
        return c.value
    }

    static func of(_ words: [UInt32], from start: Int = 0, count: Int) -> UInt32 {
        var c = CRC32C()
        c.update(words, from: start, count: count)
        return c.value
    }

    /// `table[k*256 + b]`: the CRC of byte `b` followed by `k` zero bytes (reflected polynomial
    /// 0x82F63B78).
    private static let table: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 1024)
        for b in 0..<256 {
            var c = UInt32(b)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            t[b] = c
        }
        for k in 1..<4 {
            for b in 0..<256 { t[k * 256 + b] = (t[(k - 1) * 256 + b] >> 8) ^ t[Int(t[(k - 1) * 256 + b] & 0xFF)] }
        }
        return t
    }()
}
