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

/// The fitting of a schema's `standardize` and `minmax` transforms over raw rows (read with the
/// statistics cleared, so those transforms pass values through), with `SchemaScan`'s arithmetic:
/// sums of the Float values in Double, per block of `SchemaScan.blockRecords` records of a file
/// (the first block one short when the file has a header), blocks added in order.
struct SchemaStatistics {
    /// The schema with the statistics-fitted transforms' statistics cleared.
    let raw: DataSchema
    let fitted: [Int]
    let columns: [Int]
    let width: Int
    private var sum: [Double], sumSquares: [Double], low: [Double], high: [Double]
    private var blockSum: [Double], blockSquares: [Double]
    private var blockRows = 0, blockSize = 0

    init(schema: DataSchema) {
        var raw = schema
        fitted = raw.features.indices.filter { raw.features[$0].transform.needsStatistics }
        for i in fitted { raw.features[i].statistics = nil }
        self.raw = raw
        let denseIndex = raw.features.indices.filter { raw.features[$0].kind == .dense }
        columns = fitted.map { denseIndex.firstIndex(of: $0)! }
        width = denseIndex.count
        sum = [Double](repeating: 0, count: fitted.count)
        sumSquares = sum
        blockSum = sum
        blockSquares = sum
        low = [Double](repeating: .infinity, count: fitted.count)
        high = [Double](repeating: -.infinity, count: fitted.count)
    }

    mutating func startFile(header: Bool) {
        blockRows = 0
        blockSize = SchemaScan.blockRecords - (header ? 1 : 0)
    }

    mutating func add(_ chunk: TabularData) {
        guard !fitted.isEmpty else { return }
        for r in 0 ..< chunk.count {
            for (k, column) in columns.enumerated() {
                let x = Double(chunk.dense[r * width + column])
                blockSum[k] += x
                blockSquares[k] += x * x
                low[k] = min(low[k], x)
                high[k] = max(high[k], x)
            }
            blockRows += 1
            if blockRows == blockSize { endBlock() }
        }
    }

    mutating func endFile() { endBlock() }

    private mutating func endBlock() {
        if blockRows > 0 {
            for k in fitted.indices {
                sum[k] += blockSum[k]
                sumSquares[k] += blockSquares[k]
            }
        }
        for k in fitted.indices { (blockSum[k], blockSquares[k]) = (0, 0) }
        blockRows = 0
        blockSize = SchemaScan.blockRecords
    }

    /// `raw` with the transforms fitted on `rows` rows, as `SchemaScan` fits them.
    func fitted(rows total: Int) -> DataSchema {
        var schema = raw
        for (k, i) in fitted.enumerated() {
            let n = Double(max(total, 1))
            switch schema.features[i].transform {
            case .standardize:
                let mean = sum[k] / n
                let variance = max(0, sumSquares[k] / n - mean * mean)
                let std = variance.squareRoot()
                schema.features[i].statistics = .init(shift: mean, scale: std > 1e-12 ? std : 1)
            case .minmax:
                let lo = total > 0 ? low[k] : 0, hi = total > 0 ? high[k] : 1
                schema.features[i].statistics = .init(shift: lo, scale: hi > lo ? hi - lo : 1)
            case .none, .log1p:
                break
            }
        }
        return schema
    }

    /// Applies `schema`'s fitted transforms to raw rows kept from the scan, as `SchemaScan` does.
    func apply(_ schema: DataSchema, to all: inout TabularData) {
        for (k, i) in fitted.enumerated() {
            let s = schema.features[i].statistics!
            let column = columns[k]
            for r in 0 ..< all.count {
                all.dense[r * width + column] = Float((Double(all.dense[r * width + column]) - s.shift) / s.scale)
            }
        }
    }
}
