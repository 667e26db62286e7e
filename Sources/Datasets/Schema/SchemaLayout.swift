import Foundation

/// A schema bound to one file's columns: where each feature and label is, found by header name
/// (or by index without a header), and how many fields every record must have.
public struct SchemaLayout: Sendable, Equatable {
    /// Fields per record.
    public let columnCount: Int
    /// The column of each feature, in schema order.
    public let featureColumns: [Int]
    /// The column of each task's label; nil when the file has none (prediction input).
    public let taskColumns: [Int?]
    /// The column names (the header, or `column 1`, `column 2`, ... without one), for messages.
    public let columnNames: [String]

    /// The layout of a file whose first record has fields `first` (the header when
    /// `schema.header`). `labelsRequired`: a missing label column is an error (training) or
    /// gives missing labels (prediction).
    public init(schema: DataSchema, first: [String], file: String, line: Int, labelsRequired: Bool) throws(DatasetError) {
        columnCount = schema.names?.count ?? first.count
        if let names = schema.names, !schema.header, first.count != names.count {
            throw DatasetError(file: file, line: line, "found \(first.count) field\(first.count == 1 ? "" : "s"), expected \(names.count) "
                               + "(the schema's \"names\" lists \(names.count)) separated by \(SchemaEncoding.show(schema.delimiter))")
        }
        if schema.header || schema.names != nil {
            let first = schema.names ?? first
            columnNames = first
            var index: [String: Int] = [:]
            for (i, name) in first.enumerated() {
                let trimmed = name.trimmingCharacters(in: .whitespaces)
                if index[trimmed] == nil { index[trimmed] = i }
            }
            func find(_ name: String, _ explicit: Int?, what: String, required: Bool) throws(DatasetError) -> Int? {
                if let explicit {
                    guard explicit < first.count else {
                        throw DatasetError(file: file, line: line, field: "index \(explicit)",
                                           "\(what) reads column index \(explicit), but the \(schema.header ? "header" : "schema's \"names\"") has \(first.count) columns")
                    }
                    return explicit
                }
                guard let i = index[name] else {
                    guard required else { return nil }
                    let shown = first.prefix(12).map { "\"\(MessageText.escape($0.utf8))\"" }.joined(separator: ", ") + (first.count > 12 ? ", ..." : "")
                    throw DatasetError(file: file, line: line, field: name,
                                       "\(what) reads column \"\(name)\", which the \(schema.header ? "header" : "schema's \"names\"") does not have (its columns: \(shown))")
                }
                return i
            }
            var features: [Int] = []
            for f in schema.features {
                features.append(try find(f.columnName, f.index, what: "feature \"\(f.name)\"", required: true)!)
            }
            featureColumns = features
            var tasks: [Int?] = []
            for t in schema.tasks {
                tasks.append(try find(t.columnName, t.index, what: "task \"\(t.name)\"", required: labelsRequired))
            }
            taskColumns = tasks
        } else {
            columnNames = (1 ... max(1, first.count)).map { "column \($0)" }
            let needed = (schema.features.compactMap(\.index) + (labelsRequired ? schema.tasks.compactMap(\.index) : [])).max() ?? 0
            guard needed < first.count else {
                throw DatasetError(file: file, line: line, "the schema reads column index \(needed), but the first record has \(first.count) fields")
            }
            featureColumns = schema.features.map { $0.index! }
            taskColumns = schema.tasks.map { t in t.index.flatMap { $0 < first.count ? $0 : nil } }
        }
    }

    /// How a message names column `i` (0-based): its header name and 1-based number.
    func describe(_ i: Int) -> String {
        i < columnNames.count && !columnNames[i].hasPrefix("column ") ? "\(MessageText.escape(columnNames[i].utf8)) (column \(i + 1))" : "column \(i + 1)"
    }
}
