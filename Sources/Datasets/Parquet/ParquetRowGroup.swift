// The row-group interface of the Parquet reader for any file: the top-level fields a file has
// (`ParquetFile.fields`), and the named columns of one row group as typed values with their
// null masks (`ParquetFile.rowGroup(_:columns:)`), a list column as offsets into its elements. A
// caller that encodes rows from a schema of its own reads a file row group by row group through
// these, column by name, and never sees pages, levels or encodings.

/// A top-level field of a Parquet file, as `ParquetFile.rowGroup` reads it.
public struct ParquetField: Sendable, Equatable {
    public let name: String
    /// The physical type of its values (of a list's elements): BOOLEAN, INT32, INT64, FLOAT,
    /// DOUBLE, BYTE_ARRAY, or for refused columns INT96 / FIXED_LEN_BYTE_ARRAY / "group".
    public let physicalType: String
    /// A list (a `LIST` of primitives, or a bare repeated primitive): one list of values per row.
    public let isList: Bool
    /// Whether a row may be null (for a list: the list itself; null elements are dropped).
    public let isOptional: Bool
    /// Why the reader refuses this field (a struct, a map, a nested list, INT96 ...), or nil.
    public let unsupported: String?
}

/// One column of one row group.
///
/// A flat column has one value per row; a null row holds 0 (false, an empty byte string) and is
/// marked in `nulls`. A list column has `offsets` (row count + 1 entries): row `r`'s elements are
/// `values[offsets[r] ..< offsets[r + 1]]`; a null list is empty and marked in `nulls`, and null
/// elements inside a list are dropped.
public struct ParquetColumnValues: Sendable {
    public let name: String
    public let values: ParquetValues
    /// Per row, true where the row (for a list: the list) is null; nil when no row is.
    public let nulls: [Bool]?
    /// A list column's row offsets into `values`; nil for a flat column.
    public let offsets: [Int]?

    public var isList: Bool { offsets != nil }
    public var rowCount: Int { offsets.map { $0.count - 1 } ?? values.count }
    /// Whether row `r` is null.
    public func isNull(_ r: Int) -> Bool { nulls?[r] ?? false }
}

/// The columns asked for of one row group of one file.
public struct ParquetRowGroup: Sendable {
    /// The file the row group is in, and its index there (0-based).
    public let file: String
    public let index: Int
    public let rowCount: Int
    /// In the order asked for.
    public let columns: [ParquetColumnValues]

    /// The column named `name`, or nil when it was not asked for.
    public subscript(name: String) -> ParquetColumnValues? { columns.first { $0.name == name } }
}

extension ParquetFile {
    /// The file's top-level fields, in file order.
    public var fields: [ParquetField] {
        var seen = Set<String>()
        return columns.compactMap { c in
            guard seen.insert(c.name).inserted else { return nil }
            let leaves = columns.filter { $0.name == c.name }
            let type = leaves.count > 1 ? "group" : c.type.map { "\($0)" } ?? "group"
            // A list's own level is the repeated node's minus one: above 0 when the list is optional.
            let optional = c.isList ? c.repeatedDefinitionLevel > 1 : c.maxDefinitionLevel > 0
            let why = leaves.count > 1 ? (c.unsupported ?? "a field with several leaves (a struct) is not supported") : c.unsupported
            return ParquetField(name: c.name, physicalType: type, isList: c.isList, isOptional: optional, unsupported: why)
        }
    }

    /// Columns `names` of row group `g` (every field when nil), decoded. Errors name the file,
    /// the column and the row group: a name the file does not have, an unsupported column, or
    /// corrupt data.
    public func rowGroup(_ g: Int, columns names: [String]? = nil) throws(DatasetError) -> ParquetRowGroup {
        guard g >= 0 && g < rowGroupCount else {
            throw DatasetError(file: path, "no row group \(g) (the file has \(rowGroupCount))")
        }
        let rows = rowCount(rowGroup: g)
        var out: [ParquetColumnValues] = []
        for name in names ?? columnNames {
            out.append(try columnValues(name, rowGroup: g, rows: rows))
        }
        return ParquetRowGroup(file: path, index: g, rowCount: rows, columns: out)
    }

    private func columnValues(_ name: String, rowGroup g: Int, rows: Int) throws(DatasetError) -> ParquetColumnValues {
        let (column, data) = try read(column: name, rowGroup: g)
        if column.isList {
            let offsets = try listOffsets(column, data, rows: rows)
            // A row's first level slot says whether the list itself is there.
            var nulls: [Bool]?
            let listLevel = UInt8(column.repeatedDefinitionLevel - 1)
            if listLevel > 0 {
                var mask = [Bool](repeating: false, count: rows)
                var row = -1
                for i in 0 ..< data.levelCount where data.repetitionLevels[i] == 0 {
                    row += 1
                    if data.definitionLevels[i] < listLevel { mask[row] = true }
                }
                if mask.contains(true) { nulls = mask }
            }
            return ParquetColumnValues(name: name, values: data.values, nulls: nulls, offsets: offsets)
        }
        var values: ParquetValues, nulls: [Bool]?
        switch data.values {
        case .boolean(let v):
            let e = try expand(column, data, v, fill: false)
            (values, nulls) = (.boolean(e.values), e.nulls)
        case .int32(let v):
            let e = try expand(column, data, v, fill: 0)
            (values, nulls) = (.int32(e.values), e.nulls)
        case .int64(let v):
            let e = try expand(column, data, v, fill: 0)
            (values, nulls) = (.int64(e.values), e.nulls)
        case .float(let v):
            let e = try expand(column, data, v, fill: 0)
            (values, nulls) = (.float(e.values), e.nulls)
        case .double(let v):
            let e = try expand(column, data, v, fill: 0)
            (values, nulls) = (.double(e.values), e.nulls)
        case .byteArray(let v):
            let (index, mask) = try expand(column, data, Array(0 ..< v.count), fill: -1)
            if mask == nil {
                values = .byteArray(v)
            } else {
                var filled = ParquetByteArrays()
                for i in index { if i < 0 { filled.append([UInt8]()) } else { filled.append(v[i]) } }
                values = .byteArray(filled)
            }
            nulls = mask
        }
        return ParquetColumnValues(name: name, values: values, nulls: nulls, offsets: nil)
    }
}
