/// A minimal Protocol Buffers encoder: the wire format only (varints, 32- and 64-bit little-endian
/// words, length-delimited fields), which is all the two formats the project writes need (ONNX's
/// `ModelProto` and TensorBoard's `Event`/`Summary`). Messages are built inside out: encode a
/// sub-message into its own writer, then add it with `message(_:_:)`. Fields are written in the
/// order they are added; protobuf readers accept any order, but writing in field-number order keeps
/// the bytes identical to what the reference encoders produce.
///
/// Wire format: <https://protobuf.dev/programming-guides/encoding/>.
public struct ProtobufWriter: Sendable {
    /// The encoded bytes so far.
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// The wire types of the encoding (the low three bits of a field's tag).
    public enum WireType: UInt8, Sendable {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5
    }

    mutating func tag(_ field: Int, _ type: WireType) {
        precondition(field > 0 && field < (1 << 29), "protobuf field numbers are 1 ..< 2^29")
        rawVarint(UInt64(field) << 3 | UInt64(type.rawValue))
    }

    /// A base-128 varint, least significant group first.
    public mutating func rawVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// `uint64`, `uint32`, `enum` and non-negative `int` fields.
    public mutating func varint(_ field: Int, _ value: UInt64) {
        tag(field, .varint)
        rawVarint(value)
    }

    /// `int64` and `int32` fields: negative values take ten bytes (two's complement as a 64-bit
    /// varint), as the specification requires for both (`int32` is sign-extended).
    public mutating func int64(_ field: Int, _ value: Int64) {
        varint(field, UInt64(bitPattern: value))
    }

    public mutating func bool(_ field: Int, _ value: Bool) {
        varint(field, value ? 1 : 0)
    }

    /// `float` fields: fixed 32 bits, little-endian.
    public mutating func float(_ field: Int, _ value: Float) {
        tag(field, .fixed32)
        appendLittleEndian(value.bitPattern)
    }

    /// `double` fields: fixed 64 bits, little-endian.
    public mutating func double(_ field: Int, _ value: Double) {
        tag(field, .fixed64)
        appendLittleEndian(value.bitPattern)
    }

    /// `fixed64`/`sfixed64` fields.
    public mutating func fixed64(_ field: Int, _ value: UInt64) {
        tag(field, .fixed64)
        appendLittleEndian(value)
    }

    /// `bytes` fields.
    public mutating func bytes(_ field: Int, _ value: [UInt8]) {
        tag(field, .lengthDelimited)
        rawVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// `string` fields (UTF-8).
    public mutating func string(_ field: Int, _ value: String) {
        bytes(field, Array(value.utf8))
    }

    /// An embedded message field.
    public mutating func message(_ field: Int, _ value: ProtobufWriter) {
        bytes(field, value.bytes)
    }

    /// An embedded message field built by `build`.
    public mutating func message(_ field: Int, _ build: (inout ProtobufWriter) -> Void) {
        var inner = ProtobufWriter()
        build(&inner)
        message(field, inner)
    }

    /// A packed `repeated float` field (one length-delimited run of fixed 32-bit values).
    public mutating func packedFloats(_ field: Int, _ values: [Float]) {
        tag(field, .lengthDelimited)
        rawVarint(UInt64(values.count * 4))
        bytes.reserveCapacity(bytes.count + values.count * 4)
        for v in values { appendLittleEndian(v.bitPattern) }
    }

    /// A packed `repeated int64` field (one length-delimited run of varints).
    public mutating func packedInt64(_ field: Int, _ values: [Int64]) {
        var inner = ProtobufWriter()
        for v in values { inner.rawVarint(UInt64(bitPattern: v)) }
        bytes(field, inner.bytes)
    }

    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}
