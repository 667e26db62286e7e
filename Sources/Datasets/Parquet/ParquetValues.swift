/// The decoded non-null values of one column (a dictionary, a page, or a whole column chunk), in
/// the column's physical type. Byte arrays are kept as one byte buffer with offsets, so a column
/// of strings is two allocations, not one per value.
enum ParquetValues {
    case boolean([Bool])
    case int32([Int32])
    case int64([Int64])
    case float([Float])
    case double([Double])
    case byteArray(ByteArrays)

    /// An empty column of `type` (BOOLEAN, INT32, INT64, FLOAT, DOUBLE or BYTE_ARRAY).
    init(empty type: ParquetPhysicalType) {
        switch type {
        case .boolean: self = .boolean([])
        case .int32: self = .int32([])
        case .int64: self = .int64([])
        case .float: self = .float([])
        case .double: self = .double([])
        default: self = .byteArray(ByteArrays())
        }
    }

    var count: Int {
        switch self {
        case .boolean(let v): v.count
        case .int32(let v): v.count
        case .int64(let v): v.count
        case .float(let v): v.count
        case .double(let v): v.count
        case .byteArray(let v): v.count
        }
    }

    /// Appends `other`, which has the same type.
    mutating func append(_ other: ParquetValues) {
        switch (self, other) {
        case (.boolean(var a), .boolean(let b)): a += b; self = .boolean(a)
        case (.int32(var a), .int32(let b)): a += b; self = .int32(a)
        case (.int64(var a), .int64(let b)): a += b; self = .int64(a)
        case (.float(var a), .float(let b)): a += b; self = .float(a)
        case (.double(var a), .double(let b)): a += b; self = .double(a)
        case (.byteArray(var a), .byteArray(let b)): a.append(contentsOf: b); self = .byteArray(a)
        default: preconditionFailure("ParquetValues.append: types differ")
        }
    }

    /// The values at `indices` (dictionary decoding); every index must be in range.
    func gather(_ indices: [Int32]) -> ParquetValues {
        switch self {
        case .boolean(let v): return .boolean(indices.map { v[Int($0)] })
        case .int32(let v): return .int32(indices.map { v[Int($0)] })
        case .int64(let v): return .int64(indices.map { v[Int($0)] })
        case .float(let v): return .float(indices.map { v[Int($0)] })
        case .double(let v): return .double(indices.map { v[Int($0)] })
        case .byteArray(let v):
            var out = ByteArrays()
            for i in indices { out.append(v[Int(i)]) }
            return .byteArray(out)
        }
    }
}

/// Variable-length byte strings, stored back to back: value `i` is `bytes[offsets[i] ..< offsets[i + 1]]`.
struct ByteArrays {
    private(set) var offsets: [Int] = [0]
    private(set) var bytes: [UInt8] = []

    var count: Int { offsets.count - 1 }

    subscript(i: Int) -> ArraySlice<UInt8> { bytes[offsets[i] ..< offsets[i + 1]] }

    mutating func append<C: Collection>(_ value: C) where C.Element == UInt8 {
        bytes.append(contentsOf: value)
        offsets.append(bytes.count)
    }

    mutating func append(contentsOf other: ByteArrays) {
        let base = bytes.count
        bytes += other.bytes
        offsets += other.offsets.dropFirst().map { $0 + base }
    }
}
