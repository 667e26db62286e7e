import Foundation

/// A safetensors reader written from the format description alone (README, "Loading a checkpoint
/// elsewhere"), sharing no code with `SafeTensors.swift`: what an outside tool does with a file
/// the project wrote. Bytes are assembled into numbers by hand, the header goes through
/// `JSONSerialization`, and the checksum is recomputed with a bit-by-bit CRC-32.
struct IndependentSafeTensorsReader {
    struct Failure: Error, CustomStringConvertible { let description: String }

    struct StoredTensor {
        let dtype: String
        let shape: [Int]
        let bytes: [UInt8]

        var floats: [Float] {
            stride(from: 0, to: bytes.count, by: 4).map { i in
                Float(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
            }
        }

        var uint64s: [UInt64] {
            stride(from: 0, to: bytes.count, by: 8).map { i in (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[i + $1]) << (8 * UInt64($1)) } }
        }
    }

    let metadata: [String: String]
    let tensors: [String: StoredTensor]
    /// The header's length field.
    let headerLength: Int
    /// The checksum as stated in the header, and as recomputed from the bytes.
    let statedChecksum: UInt32, computedChecksum: UInt32

    init(path: String) throws {
        let raw = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        guard raw.count >= 8 else { throw Failure(description: "shorter than the length field") }
        let n = (0..<8).reduce(UInt64(0)) { $0 | UInt64(raw[$1]) << (8 * UInt64($1)) }
        guard n <= UInt64(raw.count - 8) else { throw Failure(description: "header length \(n) beyond the file") }
        headerLength = Int(n)
        guard let header = try JSONSerialization.jsonObject(with: Data(raw[8..<(8 + headerLength)])) as? [String: Any] else {
            throw Failure(description: "header is not an object")
        }
        let dataStart = 8 + headerLength
        var tensors: [String: StoredTensor] = [:]
        for (name, value) in header where name != "__metadata__" {
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int] else {
                throw Failure(description: "tensor \(name) is malformed")
            }
            guard dataStart + offsets[1] <= raw.count else { throw Failure(description: "tensor \(name) beyond the file") }
            tensors[name] = StoredTensor(dtype: dtype, shape: shape, bytes: Array(raw[(dataStart + offsets[0])..<(dataStart + offsets[1])]))
        }
        self.tensors = tensors
        metadata = header["__metadata__"] as? [String: String] ?? [:]

        // The checksum, as documented: header starts with the prefix, then 8 hex digits; CRC-32
        // of the file with those digits read as ASCII zeros.
        let prefix = Array(#"{"__metadata__":{"checksum":"crc32:"#.utf8)
        guard raw.count >= 8 + prefix.count + 8, Array(raw[8..<(8 + prefix.count)]) == prefix,
              let stated = UInt32(String(decoding: raw[(8 + prefix.count)..<(16 + prefix.count)], as: UTF8.self), radix: 16) else {
            throw Failure(description: "no checksum at the start of the header")
        }
        var zeroed = raw
        for i in (8 + prefix.count)..<(16 + prefix.count) { zeroed[i] = UInt8(ascii: "0") }
        statedChecksum = stated
        computedChecksum = Self.crc32(zeroed)
    }

    /// CRC-32 (zlib's), one bit at a time: reflected polynomial 0xEDB88320, initial and final XOR
    /// 0xFFFFFFFF.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = (c >> 1) ^ (0xEDB8_8320 & (0 &- (c & 1))) }
        }
        return ~c
    }
}
