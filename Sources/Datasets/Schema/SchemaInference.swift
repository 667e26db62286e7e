import Foundation

/// A first schema guessed from a file's header and first rows, for the user to edit: numbers become
/// dense features (standardized), strings sparse features with buckets sized from the distinct
/// count, strings holding a list separator tags, and columns named like labels (`label`, `click`,
/// `is_*`, ...) tasks. It is a starting point: check the kinds, buckets and tasks before training.
public enum SchemaInference {
    /// Column names taken as labels (lowercased), besides `is_*`, `*_label` and `label_*`.
    static let labelNames: Set<String> = ["label", "labels", "click", "clk", "clicked", "buy", "purchase", "conversion", "converted",
                                          "target", "y", "income", "outcome"]
    /// Tag separators tried, in order.
    static let separators: [UInt8] = [UInt8(ascii: "|"), UInt8(ascii: ";"), UInt8(ascii: "#")]

    /// The schema of the file at `path`, from its first `sampleRows` records. The delimiter is the
    /// one of `,` tab `;` `|` the first line holds most of (tab for `.tsv`); the first record is taken
    /// as a header when none of its fields is a number. A Parquet file: `inferParquet`.
    public static func infer(path: String, sampleRows: Int = 2000) throws(DatasetError) -> DataSchema {
        if SchemaFiles.isParquet(path) { return try inferParquet(path: path, sampleRows: sampleRows) }
        let reader = try ChunkReader(path: path)
        var records: [[String]] = []
        var delimiter = UInt8(ascii: ",")
        var numbers: [Int] = []
        var fields: CSVFields?
        try reader.forEachRecordBlock(quote: UInt8(ascii: "\""), count: 256) { block throws(DatasetError) in
            for i in block.lines.indices {
                let r = block.lines[i]
                if block.bytes[r].allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
                if fields == nil {
                    delimiter = guessDelimiter(Array(block.bytes[r]), path: path)
                    fields = CSVFields(delimiter: delimiter, quote: UInt8(ascii: "\""))
                }
                let source: [UInt8]
                do throws(CSVFieldError) { source = try fields!.split(block.bytes, r) } catch {
                    throw DatasetError(file: path, line: block.number(i), field: "column \(error.column)", error.message)
                }
                records.append(fields!.ranges.map { String(decoding: source[$0], as: UTF8.self).trimmingCharacters(in: .whitespaces) })
                numbers.append(block.number(i))
                if records.count > sampleRows { return false }
            }
            return true
        }
        guard let first = records.first else { throw DatasetError(file: path, "the file is empty: nothing to infer a schema from") }
        let header = !first.contains { Double($0) != nil }
        let rows = header ? Array(records.dropFirst()) : records
        let names = header ? first : (0 ..< first.count).map { "column_\($0 + 1)" }
        for (k, row) in rows.enumerated() where row.count != names.count {
            throw DatasetError(file: path, line: numbers[k + (header ? 1 : 0)], "found \(row.count) fields, expected \(names.count) (as the first record has)")
        }
        var features: [SchemaFeature] = [], tasks: [SchemaTask] = []
        for (c, name) in names.enumerated() {
            let values = rows.map { $0[c] }.filter { !$0.isEmpty }
            let numeric = !values.isEmpty && values.allSatisfy { Double($0) != nil }
            let lower = name.lowercased()
            let looksLikeLabel = labelNames.contains(lower) || lower.hasPrefix("is_") || lower.hasSuffix("_label") || lower.hasPrefix("label_")
            let index = header ? nil : c
            if looksLikeLabel {
                let distinct = Set(values.map { $0.lowercased() })
                if distinct.isSubset(of: ["0", "1", "0.0", "1.0", "true", "false"]) {
                    tasks.append(SchemaTask(name: name, index: index, type: .binary))
                } else if numeric {
                    tasks.append(SchemaTask(name: name, index: index, type: .regression))
                } else if distinct.count == 2 {
                    // Two strings: the less frequent one as the positive class.
                    let counts = Dictionary(values.map { ($0, 1) }, uniquingKeysWith: +)
                    let positive = counts.min { $0.value == $1.value ? $0.key > $1.key : $0.value < $1.value }!.key
                    tasks.append(SchemaTask(name: name, index: index, type: .binary, positive: [positive]))
                } else {
                    features.append(sparse(name, index: index, values: values))
                }
                continue
            }
            if numeric {
                let distinct = Set(values)
                let binary = distinct.isSubset(of: ["0", "1"])
                features.append(SchemaFeature(name: name, kind: .dense, index: index, transform: binary ? .none : .standardize))
                continue
            }
            if let separator = separators.first(where: { s in s != delimiter && tagShare(values, s) >= 0.2 }) {
                let tokens = values.flatMap { $0.utf8.split(separator: separator).map { String(decoding: $0, as: UTF8.self) } }
                features.append(SchemaFeature(name: name, kind: .tags, index: index, buckets: buckets(distinct: Set(tokens).count, sample: tokens.count),
                                              separator: separator, combiner: .mean))
                continue
            }
            features.append(sparse(name, index: index, values: values))
        }
        if features.isEmpty, let last = tasks.popLast() {
            features.append(SchemaFeature(name: last.name, kind: .dense, index: last.index))
        }
        if tasks.isEmpty, let last = features.last {
            // No label-like column: the last column is the usual place; the user edits this.
            features.removeLast()
            tasks.append(SchemaTask(name: last.name, index: last.index, type: last.kind == .dense ? .regression : .binary))
        }
        return DataSchema(delimiter: delimiter, header: header, features: features, tasks: tasks)
    }

    static func sparse(_ name: String, index: Int?, values: [String]) -> SchemaFeature {
        SchemaFeature(name: name, kind: .sparse, index: index, buckets: buckets(distinct: Set(values).count, sample: values.count))
    }

    /// Buckets for a field with `distinct` values in a sample of `sample`: a power of two of at
    /// least twice the distinct count (few collisions), from 16; a field whose values are mostly
    /// distinct in the sample (ids) gets 2^20, since the whole file holds many more.
    static func buckets(distinct: Int, sample: Int) -> Int {
        if sample >= 200 && distinct * 2 > sample { return 1 << 20 }
        var b = 16
        while b < 2 * distinct { b *= 2 }
        return b
    }

    /// The share of `values` holding `separator`.
    static func tagShare(_ values: [String], _ separator: UInt8) -> Double {
        guard !values.isEmpty else { return 0 }
        return Double(values.filter { $0.utf8.contains(separator) }.count) / Double(values.count)
    }

    static func guessDelimiter(_ line: [UInt8], path: String) -> UInt8 {
        if path.hasSuffix(".tsv") || path.hasSuffix(".tsv.gz") { return 0x09 }
        let candidates: [UInt8] = [UInt8(ascii: ","), 0x09, UInt8(ascii: ";"), UInt8(ascii: "|")]
        let counts = candidates.map { c in line.filter { $0 == c }.count }
        var best = 0
        for i in counts.indices where counts[i] > counts[best] { best = i }
        return candidates[best]
    }
}
