/// TFRecord framing, the container of TensorFlow's event files (and of `.tfrecord` data files),
/// as TensorBoard's `summary/writer/record_writer.py` writes it. Each record is
///
///     uint64 length          little-endian
///     uint32 masked_crc(length bytes)
///     byte   data[length]
///     uint32 masked_crc(data)
///
/// where `masked_crc(x) = rotate_right(crc32c(x), 15) + 0xa282ead8` (mod 2^32): the mask keeps a
/// CRC of data that itself holds CRCs from being weak.
public enum TFRecord {
    /// The masked CRC-32C of `bytes`.
    public static func maskedCRC(_ bytes: some Sequence<UInt8>) -> UInt32 {
        let crc = CRC32C.of(bytes: bytes)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }

    /// One record holding `data`, framed.
    public static func frame(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.count + 16)
        let length = littleEndian(UInt64(data.count))
        out += length
        out += littleEndian(maskedCRC(length))
        out += data
        out += littleEndian(maskedCRC(data))
        return out
    }

    /// The records of a file's `bytes`, every length and data CRC checked. `name` (a path) is
    /// only used in error messages, with the record's index and byte offset.
    public static func records(_ bytes: [UInt8], name: String) throws(TensorBoardError) -> [[UInt8]] {
        var records: [[UInt8]] = []
        var at = 0
        while at < bytes.count {
            let where_ = "\(name): record \(records.count) at byte \(at)"
            guard bytes.count - at >= 12 else { throw TensorBoardError("\(where_): truncated header (\(bytes.count - at) bytes)") }
            let lengthBytes = Array(bytes[at..<at + 8])
            guard word32(bytes, at + 8) == maskedCRC(lengthBytes) else { throw TensorBoardError("\(where_): length CRC mismatch") }
            let length = lengthBytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
            guard length <= UInt64(bytes.count - at - 12), bytes.count - at - 12 - Int(length) >= 4 else {
                throw TensorBoardError("\(where_): length \(length) runs past the end of the file")
            }
            let data = Array(bytes[at + 12..<at + 12 + Int(length)])
            guard word32(bytes, at + 12 + Int(length)) == maskedCRC(data) else { throw TensorBoardError("\(where_): data CRC mismatch") }
            records.append(data)
            at += 16 + Int(length)
        }
        return records
    }

    static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    static func word32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) }
    }
}

/// A TensorBoard event file that cannot be written or read; the message names the file.
public struct TensorBoardError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
