/// The parts of Parquet's footer (`parquet.thrift`: `FileMetaData`, `SchemaElement`, `RowGroup`,
/// `ColumnChunk`, `ColumnMetaData`) that a reader needs, decoded from the Thrift compact protocol
/// with the field ids and enum values the spec gives them; every other field is skipped. Names
/// follow the spec's.

/// A malformed or unsupported Parquet file, said without the place; `ParquetFile` adds the file,
/// column and row group.
struct ParquetFormatError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// `Type` in `parquet.thrift`: the physical types.
enum ParquetPhysicalType: Int32, CustomStringConvertible {
    case boolean = 0, int32 = 1, int64 = 2, int96 = 3, float = 4, double = 5, byteArray = 6, fixedLenByteArray = 7
    var description: String {
        ["BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"][Int(rawValue)]
    }
}

/// `FieldRepetitionType`.
enum ParquetRepetition: Int32 {
    case required = 0, optional = 1, repeated = 2
}

/// `Encoding`.
enum ParquetEncoding: Int32, CustomStringConvertible {
    case plain = 0, groupVarInt = 1, plainDictionary = 2, rle = 3, bitPacked = 4, deltaBinaryPacked = 5
    case deltaLengthByteArray = 6, deltaByteArray = 7, rleDictionary = 8, byteStreamSplit = 9
    var description: String {
        ["PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY", "RLE", "BIT_PACKED", "DELTA_BINARY_PACKED",
         "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY", "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"][Int(rawValue)]
    }
}

/// `CompressionCodec`.
enum ParquetCodec: Int32, CustomStringConvertible {
    case uncompressed = 0, snappy = 1, gzip = 2, lzo = 3, brotli = 4, lz4 = 5, zstd = 6, lz4Raw = 7
    var description: String { ["UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"][Int(rawValue)] }
}

/// `SchemaElement`: one node of the schema tree, flattened depth-first.
struct SchemaElement {
    var type: ParquetPhysicalType?
    var typeLength: Int32?
    var repetition: ParquetRepetition?
    var name = ""
    var numChildren = 0
    /// `ConvertedType` (3 = LIST, 1 = MAP, 2 = MAP_KEY_VALUE, 0 = UTF8, ...).
    var convertedType: Int32?
    /// Whether a `logicalType` union was present, and whether it was LIST (field 3 of the union).
    var logicalTypeIsList = false
    var hasLogicalType = false

    init(_ t: inout ThriftCompactReader) throws(ParquetFormatError) {
        try t.beginStruct()
        while let f = try t.readFieldHeader() {
            switch f.id {
            case 1:
                try t.expect(f, .i32, "type")
                let raw = try t.readI32()
                guard let v = ParquetPhysicalType(rawValue: raw) else { throw ParquetFormatError("unknown physical type \(raw)") }
                type = v
            case 2: try t.expect(f, .i32, "type_length"); typeLength = try t.readI32()
            case 3:
                try t.expect(f, .i32, "repetition_type")
                let raw = try t.readI32()
                guard let v = ParquetRepetition(rawValue: raw) else { throw ParquetFormatError("unknown repetition type \(raw)") }
                repetition = v
            case 4: try t.expect(f, .binary, "name"); name = try t.readString()
            case 5: try t.expect(f, .i32, "num_children"); numChildren = try t.readCount()
            case 6: try t.expect(f, .i32, "converted_type"); convertedType = try t.readI32()
            case 10:
                try t.expect(f, .structure, "logicalType")
                hasLogicalType = true
                try t.beginStruct()
                while let u = try t.readFieldHeader() {
                    if u.id == 3 { logicalTypeIsList = true }
                    try t.skip(u.type)
                }
            default: try t.skip(f.type)
            }
        }
    }
}

/// `ColumnMetaData`.
struct ColumnMetaData {
    var type: ParquetPhysicalType = .int32
    var encodings: [Int32] = []
    var pathInSchema: [String] = []
    var codec: Int32 = 0
    var numValues: Int64 = 0
    var totalCompressedSize: Int64 = 0
    var dataPageOffset: Int64 = 0
    var dictionaryPageOffset: Int64?

    init(_ t: inout ThriftCompactReader) throws(ParquetFormatError) {
        var seen = Set<Int>()
        try t.beginStruct()
        while let f = try t.readFieldHeader() {
            seen.insert(f.id)
            switch f.id {
            case 1:
                try t.expect(f, .i32, "type")
                let raw = try t.readI32()
                guard let v = ParquetPhysicalType(rawValue: raw) else { throw ParquetFormatError("unknown physical type \(raw)") }
                type = v
            case 2: try t.expect(f, .list, "encodings"); encodings = try t.readList(of: .i32) { t throws(ParquetFormatError) in try t.readI32() }
            case 3: try t.expect(f, .list, "path_in_schema"); pathInSchema = try t.readList(of: .binary) { t throws(ParquetFormatError) in try t.readString() }
            case 4: try t.expect(f, .i32, "codec"); codec = try t.readI32()
            case 5: try t.expect(f, .i64, "num_values"); numValues = try t.readI64()
            case 7: try t.expect(f, .i64, "total_compressed_size"); totalCompressedSize = try t.readI64()
            case 9: try t.expect(f, .i64, "data_page_offset"); dataPageOffset = try t.readI64()
            case 11: try t.expect(f, .i64, "dictionary_page_offset"); dictionaryPageOffset = try t.readI64()
            default: try t.skip(f.type)
            }
        }
        for (id, name) in [(1, "type"), (4, "codec"), (5, "num_values"), (7, "total_compressed_size"), (9, "data_page_offset")]
            where !seen.contains(id) {
            throw ParquetFormatError("a column chunk's metadata has no \(name)")
        }
    }
}

/// `ColumnChunk`: where a column's data for one row group is.
struct ColumnChunk {
    var filePath: String?
    var metaData: ColumnMetaData?
    /// `crypto_metadata` or `encrypted_column_metadata` was present: an encrypted column.
    var encrypted = false

    init(_ t: inout ThriftCompactReader) throws(ParquetFormatError) {
        try t.beginStruct()
        while let f = try t.readFieldHeader() {
            switch f.id {
            case 1: try t.expect(f, .binary, "file_path"); filePath = try t.readString()
            case 3: try t.expect(f, .structure, "meta_data"); metaData = try ColumnMetaData(&t)
            case 8, 9:
                encrypted = true
                try t.skip(f.type)
            default: try t.skip(f.type)
            }
        }
    }
}

/// `RowGroup`.
struct RowGroup {
    var columns: [ColumnChunk] = []
    var numRows: Int64 = 0

    init(_ t: inout ThriftCompactReader) throws(ParquetFormatError) {
        try t.beginStruct()
        while let f = try t.readFieldHeader() {
            switch f.id {
            case 1: try t.expect(f, .list, "columns"); columns = try t.readList(of: .structure) { t throws(ParquetFormatError) in try ColumnChunk(&t) }
            case 3: try t.expect(f, .i64, "num_rows"); numRows = try t.readI64()
            default: try t.skip(f.type)
            }
        }
        guard numRows >= 0 else { throw ParquetFormatError("a row group with \(numRows) rows") }
    }
}

/// `FileMetaData`: the footer.
struct FileMetaData {
    var version: Int32 = 0
    var schema: [SchemaElement] = []
    var numRows: Int64 = 0
    var rowGroups: [RowGroup] = []
    var createdBy: String?
    /// `encryption_algorithm` was present: a file with a plaintext footer but encrypted columns.
    var encrypted = false

    init(_ bytes: ArraySlice<UInt8>) throws(ParquetFormatError) {
        var t = ThriftCompactReader(bytes)
        try t.beginStruct()
        while let f = try t.readFieldHeader() {
            switch f.id {
            case 1: try t.expect(f, .i32, "version"); version = try t.readI32()
            case 2: try t.expect(f, .list, "schema"); schema = try t.readList(of: .structure) { t throws(ParquetFormatError) in try SchemaElement(&t) }
            case 3: try t.expect(f, .i64, "num_rows"); numRows = try t.readI64()
            case 4: try t.expect(f, .list, "row_groups"); rowGroups = try t.readList(of: .structure) { t throws(ParquetFormatError) in try RowGroup(&t) }
            case 6: try t.expect(f, .binary, "created_by"); createdBy = try t.readString()
            case 8:
                encrypted = true
                try t.skip(f.type)
            default: try t.skip(f.type)
            }
        }
    }
}
