import Foundation

/// CRC-32 as zlib, PNG and Ethernet compute it (reflected polynomial 0xEDB88320, initial value and
/// final XOR 0xFFFFFFFF; "123456789" gives 0xCBF43926), so any reader can check a checkpoint with
/// Python's `zlib.crc32`. Slicing-by-8: eight table look-ups per 8 bytes instead of eight
/// dependent shifts per byte.
extension Kernels {
    /// `tables[k * 256 + b]`: the CRC of byte `b` followed by `k` zero bytes.
    private static let crcTables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for b in 0..<256 {
            var c = UInt32(b)
            for _ in 0..<8 { c = c & 1 == 1 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
            t[b] = c
        }
        for k in 1..<8 {
            for b in 0..<256 { t[k * 256 + b] = (t[(k - 1) * 256 + b] >> 8) ^ t[Int(t[(k - 1) * 256 + b] & 0xFF)] }
        }
        return t
    }()

    /// The CRC-32 of `data`'s bytes `range` (all of them when nil), continuing from `crc` (the CRC
    /// of the bytes before; 0 to start), as zlib's `crc32(crc, buf, len)`:
    /// `crc32(b, continuing: crc32(a)) == crc32(a + b)`.
    public static func crc32(_ data: Data, _ range: Range<Int>? = nil, continuing crc: UInt32 = 0) -> UInt32 {
        let r = range ?? 0..<data.count
        precondition(r.lowerBound >= 0 && r.upperBound <= data.count, "crc32: bytes \(r) of \(data.count)")
        guard !r.isEmpty else { return crc }
        return data.withUnsafeBytes { raw in
            crcTables.withUnsafeBufferPointer { t in
                var p = raw.baseAddress! + r.lowerBound
                var n = r.count
                var c = ~crc
                while n >= 8 {
                    let lo = c ^ p.loadUnaligned(as: UInt32.self).littleEndian
                    let hi = p.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
                    c = t[7 * 256 + Int(lo & 0xFF)] ^ t[6 * 256 + Int((lo >> 8) & 0xFF)]
                        ^ t[5 * 256 + Int((lo >> 16) & 0xFF)] ^ t[4 * 256 + Int(lo >> 24)]
                        ^ t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
                        ^ t[1 * 256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
                    p += 8
                    n -= 8
                }
                while n > 0 {
                    c = (c >> 8) ^ t[Int((c ^ UInt32(p.load(as: UInt8.self))) & 0xFF)]
                    p += 1
                    n -= 1
                }
                return ~c
            }
        }
    }
}
