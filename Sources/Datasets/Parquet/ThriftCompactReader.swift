/// The Thrift compact protocol (Apache Thrift's `thrift-compact-protocol.md`), read only, as
/// Parquet uses it for its footer and page headers. A struct is a run of fields, each a header
/// byte (field-id delta in the high nibble, or 0 and a zigzag varint id; type in the low nibble)
/// and a value, ended by a 0 byte; integers are zigzag varints, binaries a varint length and
/// bytes, lists a size-and-type header and elements. The reader walks a byte slice and never reads
/// past it; fields a caller does not know are skipped, to a bounded nesting depth.
struct ThriftCompactReader {
    enum FieldType: UInt8 {
        case stop = 0, boolTrue = 1, boolFalse = 2, byte = 3, i16 = 4, i32 = 5, i64 = 6, double = 7
        case binary = 8, list = 9, set = 10, map = 11, structure = 12
    }

    struct Field {
        let id: Int
        let type: FieldType
    }

    /// The bytes and read position; its varint, zigzag and bounds checks are the page decoders'.
    private var cursor: ByteCursor
    /// Field ids of the structs being read, innermost last (ids are deltas from the previous one).
    private var lastIDs: [Int] = []
    /// A boolean field's value travels in its header's type.
    private var pendingBool: Bool?

    static let maxDepth = 64

    init(_ bytes: ArraySlice<UInt8>) {
        cursor = ByteCursor(bytes, what: "Thrift metadata")
    }

    /// How many bytes have been read.
    var consumed: Int { cursor.position - cursor.bytes.startIndex }

    private func failure(_ what: String) -> ParquetFormatError { cursor.failure(what) }

    mutating func readByte() throws(ParquetFormatError) -> UInt8 { try cursor.byte() }

    mutating func readVarint() throws(ParquetFormatError) -> UInt64 { try cursor.uleb128() }

    /// A zigzag varint (Thrift's i16, i32 and i64).
    mutating func readI64() throws(ParquetFormatError) -> Int64 { try cursor.zigzag() }

    mutating func readI32() throws(ParquetFormatError) -> Int32 {
        let v = try readI64()
        guard let small = Int32(exactly: v) else { throw failure("the 32-bit integer \(v) is out of range") }
        return small
    }

    /// An i32 that must be a count or size: not negative.
    mutating func readCount() throws(ParquetFormatError) -> Int {
        let v = try readI32()
        guard v >= 0 else { throw failure("negative count or size \(v)") }
        return Int(v)
    }

    mutating func readBinary() throws(ParquetFormatError) -> ArraySlice<UInt8> {
        let n = try readVarint()
        guard n <= UInt64(cursor.remaining) else { throw failure("a string of \(n) bytes runs past the end") }
        return try cursor.take(Int(n))
    }

    mutating func readString() throws(ParquetFormatError) -> String {
        String(decoding: try readBinary(), as: UTF8.self)
    }

    mutating func readBool(_ field: Field) throws(ParquetFormatError) -> Bool {
        if let b = pendingBool {
            pendingBool = nil
            return b
        }
        return try readByte() == 1  // a list element
    }

    /// Starts a struct: call `readFieldHeader` until it returns nil, then nothing more.
    mutating func beginStruct() throws(ParquetFormatError) {
        guard lastIDs.count < Self.maxDepth else { throw failure("structs nested more than \(Self.maxDepth) deep") }
        lastIDs.append(0)
    }

    /// The next field of the current struct, or nil at its end (which also ends the struct).
    mutating func readFieldHeader() throws(ParquetFormatError) -> Field? {
        let b = try readByte()
        guard let type = FieldType(rawValue: b & 0x0F) else { throw failure("unknown field type \(b & 0x0F)") }
        if type == .stop {
            guard b == 0 else { throw failure("a stop byte with a field id") }
            lastIDs.removeLast()
            return nil
        }
        let delta = Int(b >> 4)
        let id: Int
        if delta == 0 {
            id = Int(try readI64())
        } else {
            id = lastIDs[lastIDs.count - 1] + delta
        }
        lastIDs[lastIDs.count - 1] = id
        if type == .boolTrue || type == .boolFalse { pendingBool = type == .boolTrue }
        return Field(id: id, type: type)
    }

    /// A list or set header: element type and count. The count is checked against the bytes left
    /// (every element takes at least one byte), so a corrupt count cannot make a huge allocation.
    mutating func readListHeader() throws(ParquetFormatError) -> (type: FieldType, count: Int) {
        let b = try readByte()
        guard let type = FieldType(rawValue: b & 0x0F), type != .stop else { throw failure("unknown list element type \(b & 0x0F)") }
        var count = Int(b >> 4)
        if count == 15 {
            let n = try readVarint()
            guard n <= UInt64(Int32.max) else { throw failure("a list of \(n) elements") }
            count = Int(n)
        }
        guard count <= cursor.remaining else { throw failure("a list of \(count) elements runs past the end") }
        return (type, count)
    }

    /// Reads a list of `element`s, checking the element type.
    mutating func readList<T>(of type: FieldType, _ element: (inout ThriftCompactReader) throws(ParquetFormatError) -> T)
        throws(ParquetFormatError) -> [T] {
        let header = try readListHeader()
        let normalised = header.type == .boolFalse ? FieldType.boolTrue : header.type
        guard normalised == type else { throw failure("a list of type \(header.type) where \(type) was expected") }
        var out: [T] = []
        out.reserveCapacity(header.count)
        for _ in 0 ..< header.count { out.append(try element(&self)) }
        return out
    }

    /// Checks that `field` has the type the format gives it.
    func expect(_ field: Field, _ type: FieldType, _ name: String) throws(ParquetFormatError) {
        let actual = field.type == .boolFalse ? .boolTrue : field.type
        guard actual == type else { throw failure("field \(name) (id \(field.id)) has type \(field.type), expected \(type)") }
    }

    /// Skips a value of `type` (a field the reader does not use).
    mutating func skip(_ type: FieldType, depth: Int = 0) throws(ParquetFormatError) {
        guard depth < Self.maxDepth else { throw failure("values nested more than \(Self.maxDepth) deep") }
        switch type {
        case .stop: throw failure("a stop where a value was expected")
        case .boolTrue, .boolFalse:
            if pendingBool != nil { pendingBool = nil } else { _ = try readByte() }
        case .byte: _ = try readByte()
        case .i16, .i32, .i64: _ = try readVarint()
        case .double:
            guard cursor.remaining >= 8 else { throw failure("it ends inside a double") }
            _ = try cursor.take(8)
        case .binary: _ = try readBinary()
        case .list, .set:
            let header = try readListHeader()
            for _ in 0 ..< header.count { try skip(header.type, depth: depth + 1) }
        case .map:
            let n = try readVarint()
            guard n > 0 else { return }
            guard n <= UInt64(cursor.remaining) else { throw failure("a map of \(n) entries runs past the end") }
            let kv = try readByte()
            guard let k = FieldType(rawValue: kv >> 4), let v = FieldType(rawValue: kv & 0x0F) else { throw failure("unknown map types") }
            for _ in 0 ..< n {
                try skip(k, depth: depth + 1)
                try skip(v, depth: depth + 1)
            }
        case .structure:
            try beginStruct()
            while let field = try readFieldHeader() { try skip(field.type, depth: depth + 1) }
        }
    }
}
