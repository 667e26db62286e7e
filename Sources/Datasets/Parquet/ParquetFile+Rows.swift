/// Columns of a row group as a caller wants them, one entry per row: a flat column's values with
/// nulls (definition level below the maximum) filled in and marked, and a list column's elements
/// per row (repetition level 0 starts a row; null and empty lists, and null elements, give no
/// element).
extension ParquetFile {
    /// A flat numeric column (INT32, INT64, FLOAT, DOUBLE or BOOLEAN) of row group `g` as `Double`s,
    /// with `nulls[i]` true where row `i` has no value (its `values[i]` is 0); `nulls` is nil when
    /// no row is null.
    public func numbers(column name: String, rowGroup g: Int) throws(DatasetError) -> (values: [Double], nulls: [Bool]?) {
        let (column, data) = try read(column: name, rowGroup: g)
        let dense: [Double]
        switch data.values {
        case .boolean(let v): dense = v.map { $0 ? 1 : 0 }
        case .int32(let v): dense = v.map(Double.init)
        case .int64(let v): dense = v.map(Double.init)
        case .float(let v): dense = v.map(Double.init)
        case .double(let v): dense = v
        case .byteArray: throw DatasetError(file: path, field: name, "the column holds byte arrays (strings), not numbers")
        }
        return try expand(column, data, dense, fill: 0)
    }

    /// As `numbers`, as `Float`s: a FLOAT column without a conversion, others rounded.
    public func floats(column name: String, rowGroup g: Int) throws(DatasetError) -> (values: [Float], nulls: [Bool]?) {
        let (column, data) = try read(column: name, rowGroup: g)
        let dense: [Float]
        switch data.values {
        case .float(let v): dense = v
        case .double(let v): dense = v.map(Float.init)
        case .boolean(let v): dense = v.map { $0 ? 1 : 0 }
        case .int32(let v): dense = v.map(Float.init)
        case .int64(let v): dense = v.map(Float.init)
        case .byteArray: throw DatasetError(file: path, field: name, "the column holds byte arrays (strings), not numbers")
        }
        return try expand(column, data, dense, fill: 0)
    }

    /// A flat integer column (INT64 or INT32) of row group `g`, nulls as for `numbers`.
    public func integers(column name: String, rowGroup g: Int) throws(DatasetError) -> (values: [Int64], nulls: [Bool]?) {
        let (column, data) = try read(column: name, rowGroup: g)
        let values: [Int64]
        switch data.values {
        case .int64(let v): values = v
        case .int32(let v): values = v.map(Int64.init)
        default: throw DatasetError(file: path, field: name, "the column is \(column.type.map { "\($0)" } ?? "?"), not INT64 or INT32")
        }
        return try expand(column, data, values, fill: 0)
    }

    /// The physical type of top-level column `name`, or nil when there is no such column.
    public func physicalTypeName(column name: String) -> String? { column(named: name)?.type.map { "\($0)" } }

    /// Whether column `name` is a list (repeated).
    public func isList(column name: String) -> Bool { column(named: name)?.isList ?? false }

    func expand<T>(_ column: ParquetColumn, _ data: ColumnChunkData, _ compact: [T], fill: T) throws(DatasetError) -> (values: [T], nulls: [Bool]?) {
        guard !column.isList else { throw DatasetError(file: path, field: column.name, "the column is a list; one value per row was expected") }
        guard column.maxDefinitionLevel > 0, compact.count < data.levelCount else { return (compact, nil) }
        var values = [T]()
        values.reserveCapacity(data.levelCount)
        var nulls = [Bool](repeating: false, count: data.levelCount)
        var next = 0
        let top = UInt8(column.maxDefinitionLevel)
        for (i, d) in data.definitionLevels.enumerated() {
            if d == top {
                values.append(compact[next])
                next += 1
            } else {
                values.append(fill)
                nulls[i] = true
            }
        }
        return (values, nulls)
    }

    /// A list column of row group `g`: row `r`'s present elements are
    /// `elements[offsets[r] ..< offsets[r + 1]]`, as integers (INT32/INT64).
    public func integerLists(column name: String, rowGroup g: Int) throws(DatasetError) -> (offsets: [Int], elements: [Int64]) {
        let (column, data) = try read(column: name, rowGroup: g)
        let elements: [Int64]
        switch data.values {
        case .int64(let v): elements = v
        case .int32(let v): elements = v.map(Int64.init)
        default: throw DatasetError(file: path, field: name, "the list holds \(column.type.map { "\($0)" } ?? "?"), not INT64 or INT32")
        }
        return (try listOffsets(column, data, rows: rowCount(rowGroup: g)), elements)
    }

    /// A list column of row group `g` as strings (BYTE_ARRAY elements, read as UTF-8).
    public func stringLists(column name: String, rowGroup g: Int) throws(DatasetError) -> (offsets: [Int], elements: [String]) {
        let (column, data) = try read(column: name, rowGroup: g)
        guard case .byteArray(let v) = data.values else {
            throw DatasetError(file: path, field: name, "the list holds \(column.type.map { "\($0)" } ?? "?"), not BYTE_ARRAY")
        }
        return (try listOffsets(column, data, rows: rowCount(rowGroup: g)), (0 ..< v.count).map { String(decoding: v[$0], as: UTF8.self) })
    }

    /// A flat BYTE_ARRAY column of row group `g` as strings, nil for nulls.
    public func strings(column name: String, rowGroup g: Int) throws(DatasetError) -> [String?] {
        let (column, data) = try read(column: name, rowGroup: g)
        guard case .byteArray(let v) = data.values else {
            throw DatasetError(file: path, field: name, "the column is \(column.type.map { "\($0)" } ?? "?"), not BYTE_ARRAY")
        }
        let compact: [String?] = (0 ..< v.count).map { String(decoding: v[$0], as: UTF8.self) }
        return try expand(column, data, compact, fill: nil).values
    }

    func listOffsets(_ column: ParquetColumn, _ data: ColumnChunkData, rows: Int) throws(DatasetError) -> [Int] {
        guard column.isList else { throw DatasetError(file: path, field: column.name, "the column is not a list") }
        var offsets = [0]
        offsets.reserveCapacity(rows + 1)
        var count = 0
        let top = UInt8(column.maxDefinitionLevel)
        for i in 0 ..< data.levelCount {
            if data.repetitionLevels[i] == 0 && i > 0 { offsets.append(count) }
            if column.maxDefinitionLevel == 0 || data.definitionLevels[i] == top { count += 1 }
        }
        if data.levelCount > 0 { offsets.append(count) }
        guard offsets.count == rows + 1 else {
            throw DatasetError(file: path, field: column.name, "the list column has \(offsets.count - 1) rows, the row group \(rows)")
        }
        return offsets
    }
}
