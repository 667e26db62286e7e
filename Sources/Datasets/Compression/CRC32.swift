/// CRC-32 as gzip (RFC 1952, section 8) and zlib compute it: the reflected polynomial 0xEDB88320,
/// initial value and final XOR 0xFFFFFFFF. Table-driven, one byte at a time; `update` continues a
/// running checksum so a stream can be checked chunk by chunk.
public struct CRC32: Sendable {
    /// The checksum of everything passed to `update` so far.
    public private(set) var value: UInt32 = 0

    public init() {}

    static let table: [UInt32] = (0 ..< 256).map { n in
        var c = UInt32(n)
        for _ in 0 ..< 8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    public mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        var c = ~value
        let table = Self.table
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        value = ~c
    }

    public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var crc = CRC32()
        crc.update(bytes)
        return crc.value
    }
}
