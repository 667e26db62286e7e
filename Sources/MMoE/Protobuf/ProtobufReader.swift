/// A minimal Protocol Buffers decoder over a byte array: it splits a message into its fields and
/// never reads past the end (a truncated or malformed message is a thrown error). The project
/// writes protobuf (ONNX, TensorBoard events) and uses this to check what it wrote, in tests and
/// when reading its own files back.
public struct ProtobufReader: Sendable {
    /// One decoded field: its number and value (a varint, a fixed 32/64-bit word, or the bytes of
    /// a length-delimited field, which may be a string, bytes, a packed array or a sub-message).
    public struct Field: Sendable, Equatable {
        public var number: Int
        public var value: Value
    }

    public enum Value: Sendable, Equatable {
        case varint(UInt64)
        case fixed64(UInt64)
        case lengthDelimited([UInt8])
        case fixed32(UInt32)

        /// The field's bytes decoded as UTF-8, when length-delimited.
        public var string: String? {
            if case .lengthDelimited(let b) = self { return String(decoding: b, as: UTF8.self) }
            return nil
        }
        /// The bytes of a length-delimited field.
        public var data: [UInt8]? {
            if case .lengthDelimited(let b) = self { return b }
            return nil
        }
        /// A varint's value.
        public var integer: UInt64? {
            if case .varint(let v) = self { return v }
            return nil
        }
        /// A fixed 32-bit field read as a float.
        public var float: Float? {
            if case .fixed32(let v) = self { return Float(bitPattern: v) }
            return nil
        }
        /// A fixed 64-bit field read as a double.
        public var double: Double? {
            if case .fixed64(let v) = self { return Double(bitPattern: v) }
            return nil
        }
    }

    public struct DecodeError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    let bytes: [UInt8]
    var position = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Every field of the message, in order.
    public static func fields(_ bytes: [UInt8]) throws(DecodeError) -> [Field] {
        var r = ProtobufReader(bytes)
        var out: [Field] = []
        while r.position < bytes.count { out.append(try r.next()) }
        return out
    }

    /// A packed `repeated float` payload.
    public static func packedFloats(_ bytes: [UInt8]) throws(DecodeError) -> [Float] {
        guard bytes.count % 4 == 0 else { throw DecodeError(description: "packed floats: \(bytes.count) bytes is not a multiple of 4") }
        var out: [Float] = []
        out.reserveCapacity(bytes.count / 4)
        for i in stride(from: 0, to: bytes.count, by: 4) {
            var word: UInt32 = 0
            for k in 0..<4 { word |= UInt32(bytes[i + k]) << (8 * UInt32(k)) }
            out.append(Float(bitPattern: word))
        }
        return out
    }

    /// A packed `repeated int64` (varint) payload.
    public static func packedVarints(_ bytes: [UInt8]) throws(DecodeError) -> [UInt64] {
        var r = ProtobufReader(bytes)
        var out: [UInt64] = []
        while r.position < bytes.count { out.append(try r.varint()) }
        return out
    }

    mutating func varint() throws(DecodeError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.count else { throw DecodeError(description: "truncated varint at byte \(position)") }
            let b = bytes[position]
            position += 1
            guard shift < 64 else { throw DecodeError(description: "varint longer than 10 bytes at byte \(position)") }
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
        }
    }

    mutating func fixed(_ count: Int) throws(DecodeError) -> UInt64 {
        guard bytes.count - position >= count else { throw DecodeError(description: "truncated \(count * 8)-bit field at byte \(position)") }
        var v: UInt64 = 0
        for i in 0..<count { v |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
        position += count
        return v
    }

    mutating func next() throws(DecodeError) -> Field {
        let start = position
        let key = try varint()
        let number = Int(truncatingIfNeeded: key >> 3)
        guard number > 0 else { throw DecodeError(description: "field number 0 at byte \(start)") }
        switch key & 7 {
        case 0: return Field(number: number, value: .varint(try varint()))
        case 1: return Field(number: number, value: .fixed64(try fixed(8)))
        case 5: return Field(number: number, value: .fixed32(UInt32(try fixed(4))))
        case 2:
            let length = try varint()
            guard length <= UInt64(bytes.count - position) else {
                throw DecodeError(description: "field \(number): length \(length) runs past the end at byte \(position)")
            }
            let end = position + Int(length)
            defer { position = end }
            return Field(number: number, value: .lengthDelimited(Array(bytes[position..<end])))
        default:
            throw DecodeError(description: "field \(number): unsupported wire type \(key & 7) at byte \(start)")
        }
    }
}
