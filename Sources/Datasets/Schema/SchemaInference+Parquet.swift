import Foundation

/// A first schema for a Parquet file, from its own column types and a sample of its rows (the
/// first `sampleRows`, row group by row group), by the rules of the CSV inference where a type
/// does not settle it: label-like names become tasks (BOOLEAN or 0/1 values binary, other numbers
/// regression, two strings binary with the rarer one positive); FLOAT, DOUBLE and BOOLEAN columns
/// dense (standardized unless 0/1); INT32/INT64 columns dense, except id-like ones (named `id`,
/// `*_id` or `*Id`, or holding values beyond 2^24, such as hashed ids), which are sparse; strings sparse, or
/// tags when their values hold a separator; lists tags. Columns the reader cannot read (structs,
/// INT96 ...) are left out. Buckets are sized from the distinct values in the sample.
extension SchemaInference {
    public static func inferParquet(path: String, sampleRows: Int = 2000) throws(DatasetError) -> DataSchema {
        let file = try ParquetFile(path: path)
        let fields = file.fields.filter { $0.unsupported == nil }
        guard !fields.isEmpty else { throw DatasetError(file: path, "the file has no column this reader can read, so no schema to infer") }
        // Each column's sampled values as the text a CSV cell would hold ("" for a null), and a
        // list column's elements.
        var texts = [[String]](repeating: [], count: fields.count)
        var rows = 0
        for g in 0 ..< file.rowGroupCount where rows < sampleRows {
            let group = try file.rowGroup(g, columns: fields.map(\.name))
            let take = min(group.rowCount, sampleRows - rows)
            var scratch = [UInt8](repeating: 0, count: 24)
            for (c, column) in group.columns.enumerated() {
                func text(_ i: Int) -> String {
                    if case .float(let v) = column.values { return "\(v[i])" }
                    if case .double(let v) = column.values { return "\(v[i])" }
                    let (bytes, range) = SchemaParquetEncoder.text(column.values, i, &scratch)!
                    return String(decoding: bytes[range], as: UTF8.self).trimmingCharacters(in: .whitespaces)
                }
                if let offsets = column.offsets {
                    for r in 0 ..< take { texts[c] += (offsets[r] ..< offsets[r + 1]).map(text) }
                } else {
                    for r in 0 ..< take { texts[c].append(column.isNull(r) ? "" : text(r)) }
                }
            }
            rows += take
        }
        var features: [SchemaFeature] = [], tasks: [SchemaTask] = []
        for (c, field) in fields.enumerated() {
            let name = field.name, type = field.physicalType
            let values = texts[c].filter { !$0.isEmpty }
            let lower = name.lowercased()
            let looksLikeLabel = labelNames.contains(lower) || lower.hasPrefix("is_") || lower.hasSuffix("_label") || lower.hasPrefix("label_")
            let numeric = SchemaParquetReader.numericTypes.contains(type)
            let binaryValues = Set(values.map { $0.lowercased() }).isSubset(of: ["0", "1", "0.0", "1.0", "true", "false"])
            if field.isList {
                features.append(SchemaFeature(name: name, kind: .tags, buckets: buckets(distinct: Set(values).count, sample: values.count)))
                continue
            }
            if looksLikeLabel {
                if binaryValues && (numeric || type == "BYTE_ARRAY") {
                    tasks.append(SchemaTask(name: name, type: .binary))
                    continue
                }
                if numeric {
                    tasks.append(SchemaTask(name: name, type: .regression))
                    continue
                }
                let distinct = Set(values)
                if distinct.count == 2 {
                    let counts = Dictionary(values.map { ($0, 1) }, uniquingKeysWith: +)
                    let positive = counts.min { $0.value == $1.value ? $0.key > $1.key : $0.value < $1.value }!.key
                    tasks.append(SchemaTask(name: name, type: .binary, positive: [positive]))
                    continue
                }
            }
            if type == "INT32" || type == "INT64" {
                let idLike = lower == "id" || lower.hasSuffix("_id") || name.hasSuffix("Id") || name.hasSuffix("ID")
                    || values.contains { Int64($0).map { $0.magnitude > 1 << 24 } ?? false }
                if idLike {
                    features.append(sparse(name, index: nil, values: values))
                } else {
                    features.append(SchemaFeature(name: name, kind: .dense, transform: Set(values).isSubset(of: ["0", "1"]) ? .none : .standardize))
                }
                continue
            }
            if numeric {
                features.append(SchemaFeature(name: name, kind: .dense, transform: binaryValues ? .none : .standardize))
                continue
            }
            if let separator = separators.first(where: { tagShare(values, $0) >= 0.2 }) {
                let tokens = values.flatMap { $0.utf8.split(separator: separator).map { String(decoding: $0, as: UTF8.self) } }
                features.append(SchemaFeature(name: name, kind: .tags, buckets: buckets(distinct: Set(tokens).count, sample: tokens.count),
                                              separator: separator, combiner: .mean))
                continue
            }
            features.append(sparse(name, index: nil, values: values))
        }
        if features.isEmpty, let last = tasks.popLast() {
            features.append(SchemaFeature(name: last.name, kind: .dense))
        }
        if tasks.isEmpty, let last = features.last(where: { $0.kind != .tags }) {
            // No label-like column: the last one is the usual place; the user edits this.
            features.removeAll { $0.name == last.name }
            tasks.append(SchemaTask(name: last.name, type: last.kind == .dense ? .regression : .binary))
        }
        return DataSchema(features: features, tasks: tasks)
    }
}
