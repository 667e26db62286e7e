/// The 64-bit key of a sparse value. Vocabularies are keyed by it so the readers can look a value
/// up straight from the bytes of a line, without making a String per field.
///
/// Definition (fixed, so keys agree across runs, machines and versions): FNV-1a 64 (offset basis
/// 0xcbf29ce484222325, prime 0x100000001b3) over the field index as 4 little-endian bytes, then the
/// value's UTF-8 bytes; the result goes through the SplitMix64 finaliser so that values differing
/// only in their last byte do not give neighbouring keys. The field index takes part so the same
/// text in two fields gives two keys.
public enum FieldHash {
    /// Key of `value` in sparse field `field` (the index among the sparse fields, from 0).
    public static func key(field: Int, value: String) -> UInt64 {
        let bytes = Array(value.utf8)
        return key(field: field, bytes, bytes.indices)
    }

    static func key(field: Int, _ bytes: [UInt8], _ range: Range<Int>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        let prime: UInt64 = 0x0000_0100_0000_01b3
        let index = UInt32(truncatingIfNeeded: field)
        for shift in stride(from: 0, to: 32, by: 8) {
            h = (h ^ UInt64((index >> UInt32(shift)) & 0xff)) &* prime
        }
        for i in range { h = (h ^ UInt64(bytes[i])) &* prime }
        return mix(h)
    }

    /// SplitMix64's finaliser (Steele, Lea and Flood 2014).
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
