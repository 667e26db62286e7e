import Foundation

/// The pass over Parquet training files before training, as `SchemaScan` is for text files: every
/// file's columns are bound to the schema first (a missing or unfit column stops the run before
/// anything is decoded), then every row group is decoded and checked, the `standardize` and
/// `minmax` transforms are fitted, and the rows counted; the row groups are the pieces a trainer
/// streams. With `keepRows`, the encoded rows are kept too (small data trains from memory).
///
/// The statistics are summed as `SchemaScan` sums a CSV file's (in blocks of its records, the
/// header counting as one), so a Parquet file and its CSV twin fit bit-identical statistics.
public struct SchemaParquetScan: Sendable {
    /// The schema with its transforms fitted on these files.
    public let schema: DataSchema
    /// The row groups to train on, in file order (files in the order given), cut at the row limit.
    public let rowGroups: [ParquetRowGroupRef]
    /// Rows over all files.
    public let rows: Int
    /// The rows, encoded with the fitted schema, when asked to keep them.
    public let data: TabularData?

    /// Scans `paths` in order. `maxRows`: stop after this many rows in all.
    public init(schema: DataSchema, paths: [String], keepRows: Bool, keepKeys: Bool = false, maxRows: Int? = nil) throws(DatasetError) {
        precondition(!paths.isEmpty, "SchemaParquetScan: no files")
        var statistics = SchemaStatistics(schema: schema)
        let reader = SchemaParquetReader(schema: statistics.raw, keepKeys: keepKeys)
        // Every file bound first (and closed again: a folder may hold more files than may be open at once).
        var bindings: [SchemaParquetReader.Binding] = []
        for path in paths { bindings.append(try reader.bind(try ParquetFile(path: path))) }
        var refs: [ParquetRowGroupRef] = [], kept: [TabularData] = []
        var left = max(0, maxRows ?? .max)
        for (path, binding) in zip(paths, bindings) where left > 0 {
            let file = try ParquetFile(path: path)
            statistics.startFile(header: schema.header)
            for g in 0 ..< file.rowGroupCount where left > 0 {
                let count = min(file.rowCount(rowGroup: g), left)
                guard count > 0 else { continue }
                let chunk = try reader.read(file, rowGroup: g, rows: 0 ..< count, binding: binding)
                statistics.add(chunk)
                if keepRows { kept.append(chunk) }
                refs.append(ParquetRowGroupRef(path: file.path, rowGroup: g, rows: count))
                left -= count
            }
            statistics.endFile()
        }
        let total = refs.reduce(0) { $0 + $1.rows }
        let fitted = statistics.fitted(rows: total)
        self.schema = fitted
        rowGroups = refs
        rows = total
        if keepRows {
            var all = TabularData.concatenating(kept) ?? TabularData(
                count: 0, denseWidth: schema.denseFeatures.count, dense: [], fieldCount: schema.fieldFeatures.count, ids: [],
                taskNames: schema.taskNames, labels: [], bagOffsets: schema.hasBags ? [0] : nil, keys: keepKeys ? [] : nil)
            statistics.apply(fitted, to: &all)
            data = all
        } else {
            data = nil
        }
    }
}
