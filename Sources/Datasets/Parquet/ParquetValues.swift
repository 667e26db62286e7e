/// Decoded values of one column in the column's physical type: inside the reader, the non-null
/// values of a dictionary, a page or a column chunk; in a `ParquetColumnValues`, one value per row
/// of a flat column (nulls filled in) or a list column's elements. Byte arrays are kept as one byte
/// buffer with offsets, so a column of strings is two allocations, not one per value.
public enum ParquetValues: Sendable {
    case boolean([Bool])
    case int32([Int32])
    case int64([Int64])
    case float([Float])
    case double([Double])
    case byteArray(ParquetByteArrays)

    /// An empty column of `type` (BOOLEAN, INT32, INT64, FLOAT, DOUBLE or BYTE_ARRAY).
    init(empty type: ParquetPhysicalType) {
        switch type {
        case .boolean: self = .boolean([])
        case .int32: self = .int32([])
        case .int64: self = .int64([])
        case .float: self = .float([])
        case .double: self = .double([])
        default: self = .byteArray(ParquetByteArrays())
        }
    }

    /// How many values (rows of a flat column, elements of a list column).
    public var count: Int {
        switch self {
        case .boolean(let v): v.count
        case .int32(let v): v.count
        case .int64(let v): v.count
        case .float(let v): v.count
        case .double(let v): v.count
        case .byteArray(let v): v.count
        }
    }
}

/// Variable-length byte strings (a BYTE_ARRAY column's values), stored back to back: value `i` is
/// `bytes[offsets[i] ..< offsets[i + 1]]`.
public struct ParquetByteArrays: Sendable, Equatable {
    public private(set) var offsets: [Int] = [0]
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public var count: Int { offsets.count - 1 }

    public subscript(i: Int) -> ArraySlice<UInt8> { bytes[offsets[i] ..< offsets[i + 1]] }

    /// Value `i` read as UTF-8 (invalid bytes replaced).
    public func string(_ i: Int) -> String { String(decoding: self[i], as: UTF8.self) }

    mutating func append<C: Collection>(_ value: C) where C.Element == UInt8 {
        bytes.append(contentsOf: value)
        offsets.append(bytes.count)
    }

    mutating func append(contentsOf other: ParquetByteArrays) {
        let base = bytes.count
        bytes += other.bytes
        offsets += other.offsets.dropFirst().map { $0 + base }
    }
}
