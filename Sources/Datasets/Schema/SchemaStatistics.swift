import Foundation

/// The fitting of a schema's `standardize` and `minmax` transforms over raw rows (read with the
/// statistics cleared, so those transforms pass values through), with `SchemaScan`'s arithmetic:
/// sums of the Float values in Double, per block of `SchemaScan.blockRecords` records of a file
/// (the first block one short when the file has a header), blocks added in order. `SchemaScan`
/// and the Parquet scan both fit through it, so a file and its CSV twin fit the same bits.
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

    /// Adds `chunk`'s rows, cut into blocks by count (`startFile`'s sizes): a reader whose chunks
    /// are not the text scan's blocks (Parquet row groups) fits the same bits this way.
    mutating func add(_ chunk: TabularData) {
        guard !fitted.isEmpty else { return }
        for r in 0 ..< chunk.count {
            addRow(chunk, r)
            blockRows += 1
            if blockRows == blockSize { endBlock() }
        }
    }

    /// Adds `chunk` as one whole block: the text scan's chunks are its blocks.
    mutating func addBlock(_ chunk: TabularData) {
        guard !fitted.isEmpty else { return }
        for r in 0 ..< chunk.count { addRow(chunk, r) }
        blockRows += chunk.count
        endBlock()
    }

    private mutating func addRow(_ chunk: TabularData, _ r: Int) {
        for (k, column) in columns.enumerated() {
            let x = Double(chunk.dense[r * width + column])
            blockSum[k] += x
            blockSquares[k] += x * x
            low[k] = min(low[k], x)
            high[k] = max(high[k], x)
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
                // Clipped: a constant column keeps its zero range, and every value scales to 0.
                schema.features[i].statistics = .init(shift: lo, scale: hi > lo ? hi - lo : schema.features[i].clip ? 0 : 1)
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
            if schema.features[i].clip {
                for r in 0 ..< all.count { all.dense[r * width + column] = s.clipped(all.dense[r * width + column]) }
                continue
            }
            for r in 0 ..< all.count {
                all.dense[r * width + column] = Float((Double(all.dense[r * width + column]) - s.shift) / s.scale)
            }
        }
    }
}
