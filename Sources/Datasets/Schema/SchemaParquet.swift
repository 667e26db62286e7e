import Foundation

/// Parquet files read through a `DataSchema` into `TabularData`, row group by row group, columns
/// found by name (or by position with `index`). A Parquet value is read exactly as its CSV text
/// is by `SchemaReader`: an integer as its decimal text, a string as its UTF-8 bytes (spaces at
/// either end trimmed, as in a CSV cell), a boolean as `true`/`false`, a null as an empty cell,
/// and a list as its elements, so the same schema on the same data as CSV or as Parquet gives the
/// same rows, ids and model.
///
/// Roles and the column types that can serve them (anything else, a column the file lacks, or a
/// column the reader cannot read, such as a struct, is refused when a file is bound, naming the
/// file, the column and the role):
/// - dense: INT32, INT64, FLOAT, DOUBLE or BOOLEAN (1/0); a null takes the feature's `default`.
/// - sparse: BYTE_ARRAY, INT32, INT64 or BOOLEAN; a null is the empty value's id.
/// - tags: a LIST of BYTE_ARRAY, INT32, INT64 or BOOLEAN (each element a tag; a null list, and
///   null or empty elements, give none), or a BYTE_ARRAY column split at the feature's separator.
/// - binary task: BOOLEAN, or numbers that are 0 or 1, or BYTE_ARRAY holding `0`/`1`/`true`/
///   `false`; with `positive`, BYTE_ARRAY, INT32, INT64 or BOOLEAN compared as text. A null is a
///   missing label.
/// - regression task: INT32, INT64, FLOAT, DOUBLE or BOOLEAN; a null is a missing label.
public struct SchemaParquetReader: Sendable {
    /// The schema; its `standardize`/`minmax` transforms must be fitted (`SchemaParquetScan`),
    /// except in the scan's own raw read.
    public let schema: DataSchema
    /// Also keep each id's raw 64-bit key (`TabularData.keys`), for dynamic embedding tables.
    public var keepKeys: Bool
    /// Whether every task's label column must be in the file (training), or may be absent
    /// (prediction: its labels are then missing, NaN).
    public var labelsRequired: Bool

    public init(schema: DataSchema, keepKeys: Bool = false, labelsRequired: Bool = true) {
        self.schema = schema
        self.keepKeys = keepKeys
        self.labelsRequired = labelsRequired
    }

    /// Where each feature and task of the schema is in one file, with the columns' types checked.
    public struct Binding: Sendable {
        /// The column each feature reads, in schema order.
        public let featureColumns: [String]
        /// The column each task's label is in; nil when the file has none (prediction input).
        public let taskColumns: [String?]
        /// The distinct columns to decode, in file order.
        let columns: [String]
        let fields: [String: ParquetField]
    }

    /// Binds the schema to `file`'s columns, checking each column can serve its role.
    public func bind(_ file: ParquetFile) throws(DatasetError) -> Binding {
        let fields = file.fields
        if let f = schema.features.first(where: { $0.vocabulary != .hash || $0.clip }) {
            throw DatasetError(file: file.path, field: f.name, (f.vocabulary != .hash ? "\"vocabulary\": \"\(f.vocabulary.rawValue)\"" : "\"clip\"")
                               + " is read from delimited text files only for now, not Parquet")
        }
        if !schema.trim {
            throw DatasetError(file: file.path, field: "trim", "\"trim\": false is read from delimited text files only for now, not Parquet")
        }
        let byName = Dictionary(fields.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let path = file.path
        func find(_ name: String, _ index: Int?, role: String, required: Bool) throws(DatasetError) -> ParquetField? {
            if let index {
                guard index < fields.count else {
                    throw DatasetError(file: path, field: "index \(index)", "\(role) reads column index \(index), but the file has \(fields.count) columns")
                }
                return fields[index]
            }
            guard let field = byName[name] else {
                guard required else { return nil }
                let shown = fields.prefix(12).map { "\"\($0.name)\"" }.joined(separator: ", ") + (fields.count > 12 ? ", ..." : "")
                throw DatasetError(file: path, field: name, "\(role) reads this column, which the file does not have (its columns: \(shown))")
            }
            return field
        }
        func refuse(_ field: ParquetField, _ role: String, _ why: String) -> DatasetError {
            DatasetError(file: path, field: field.name, "\(role) cannot read this column: \(why)")
        }
        var featureColumns: [String] = [], used: [String: ParquetField] = [:]
        for f in schema.features {
            let role = "feature \"\(f.name)\" (\(f.kind.rawValue))"
            let field = try find(f.columnName, f.index, role: role, required: true)!
            if let why = field.unsupported { throw refuse(field, role, why) }
            let type = field.physicalType
            switch f.kind {
            case .dense:
                if field.isList { throw refuse(field, role, "it is a list; a dense feature reads one number per row (make it a tags feature)") }
                if !Self.numericTypes.contains(type) {
                    throw refuse(field, role, "it is \(Self.describe(type)); a dense feature needs numbers (INT32, INT64, FLOAT, DOUBLE or BOOLEAN); make it a sparse feature, or write the column as numbers")
                }
            case .sparse:
                if field.isList { throw refuse(field, role, "it is a list; a sparse feature reads one value per row (make it a tags feature)") }
                if !Self.textTypes.contains(type) {
                    throw refuse(field, role, "it is \(Self.describe(type)), whose values have no exact text to hash; a sparse feature reads strings (BYTE_ARRAY), integers (INT32, INT64) or BOOLEAN: make it dense, or write the column as integers or strings")
                }
            case .tags:
                if field.isList {
                    if !Self.textTypes.contains(type) {
                        throw refuse(field, role, "it is a list of \(Self.describe(type)); tags are strings (BYTE_ARRAY), integers (INT32, INT64) or BOOLEAN")
                    }
                } else if type != "BYTE_ARRAY" {
                    throw refuse(field, role, "it is \(Self.describe(type)); a tags feature reads a LIST column, or a string (BYTE_ARRAY) column of \(JSONText.quoted(String(UnicodeScalar(f.separator))))-separated values")
                }
            }
            featureColumns.append(field.name)
            used[field.name] = field
        }
        var taskColumns: [String?] = []
        for t in schema.tasks {
            let role = "task \"\(t.name)\" (\(t.type.rawValue))"
            guard let field = try find(t.columnName, t.index, role: role, required: labelsRequired) else {
                taskColumns.append(nil)
                continue
            }
            if let why = field.unsupported { throw refuse(field, role, why) }
            if field.isList { throw refuse(field, role, "it is a list; a task reads one label per row") }
            let type = field.physicalType
            switch t.type {
            case .binary:
                if t.positive != nil && !Self.textTypes.contains(type) {
                    throw refuse(field, role, "\"positive\" lists the strings that count as 1, but the column is \(Self.describe(type)), whose values have no exact text; drop \"positive\" (labels 0 and 1), or write the column as strings")
                }
                if !Self.numericTypes.contains(type) && type != "BYTE_ARRAY" {
                    throw refuse(field, role, "it is \(Self.describe(type)); a binary label is BOOLEAN, a number (0 or 1) or a string")
                }
            case .regression:
                if !Self.numericTypes.contains(type) {
                    throw refuse(field, role, "it is \(Self.describe(type)); a regression label is a number (INT32, INT64, FLOAT, DOUBLE or BOOLEAN)")
                }
            }
            taskColumns.append(field.name)
            used[field.name] = field
        }
        let columns = fields.map(\.name).filter { used[$0] != nil }
        return Binding(featureColumns: featureColumns, taskColumns: taskColumns, columns: columns, fields: used)
    }

    static let numericTypes: Set<String> = ["INT32", "INT64", "FLOAT", "DOUBLE", "BOOLEAN"]
    static let textTypes: Set<String> = ["INT32", "INT64", "BOOLEAN", "BYTE_ARRAY"]

    static func describe(_ type: String) -> String {
        type == "BYTE_ARRAY" ? "BYTE_ARRAY (strings)" : type
    }

    /// Rows `rows` (all of them when nil) of row group `g` of `file`, bound by `binding`.
    public func read(_ file: ParquetFile, rowGroup g: Int, rows: Range<Int>? = nil, binding: Binding) throws(DatasetError) -> TabularData {
        let group = try file.rowGroup(g, columns: binding.columns)
        return try encode(group, rows: rows ?? 0 ..< group.rowCount, binding: binding)
    }

    /// Encodes `rows` of the decoded row group `group` (which holds at least `binding.columns`).
    public func encode(_ group: ParquetRowGroup, rows: Range<Int>, binding: Binding) throws(DatasetError) -> TabularData {
        try SchemaParquetEncoder(schema: schema, keepKeys: keepKeys, group: group, rows: rows).encode(binding)
    }

    /// Streams `paths` in order, row group by row group, handing `body` chunks of at most
    /// `chunkRows` rows (never an empty one); `body` returns false to stop, and an error it throws
    /// is rethrown unchanged. `maxRows`: stop after this many rows. Every file is opened and bound
    /// before any row is read, so a missing or unfit column stops the read first.
    public func read(paths: [String], chunkRows: Int = 8192, maxRows: Int? = nil, _ body: (TabularData) throws -> Bool) throws {
        precondition(chunkRows > 0, "SchemaParquetReader.read: chunkRows must be positive, got \(chunkRows)")
        // Bound first, each file closed again (a folder may hold more files than may be open at once).
        var bindings: [Binding] = []
        for path in paths { bindings.append(try bind(try ParquetFile(path: path))) }
        var left = max(0, maxRows ?? .max)
        for (path, binding) in zip(paths, bindings) where left > 0 {
            let file = try ParquetFile(path: path)
            for g in 0 ..< file.rowGroupCount where left > 0 {
                let count = min(file.rowCount(rowGroup: g), left)
                guard count > 0 else { continue }
                let group = try file.rowGroup(g, columns: binding.columns)
                var start = 0
                while start < count {
                    let end = min(count, start + chunkRows)
                    guard try body(try encode(group, rows: start ..< end, binding: binding)) else { return }
                    start = end
                }
                left -= count
            }
        }
    }
}

extension SchemaFiles {
    /// Whether the file at `path` is Parquet: its name ends in `.parquet`, or it starts with the
    /// magic `PAR1`.
    public static func isParquet(_ path: String) -> Bool {
        if path.hasSuffix(".parquet") { return true }
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 4)) ?? Data()
        return Array(head) == Array("PAR1".utf8)
    }

    /// Whether `paths` are Parquet files (true) or text files (false); both kinds in one list is
    /// an error naming `flag`.
    public static func areParquet(_ paths: [String], flag: String) throws(DatasetError) -> Bool {
        let kinds = paths.map(isParquet)
        if let mixed = kinds.firstIndex(of: !kinds[0]) {
            let (parquet, text) = kinds[0] ? (paths[0], paths[mixed]) : (paths[mixed], paths[0])
            throw DatasetError(file: flag, "mixes Parquet (\(parquet)) and text files (\(text)); give files of one kind")
        }
        return kinds.first ?? false
    }
}
