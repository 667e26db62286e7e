extension CensusEncoder {
    /// Reads a raw Census file (the training split) and fits the encoder on it: vocabularies in
    /// first-seen order, dense ranges; then encodes the same rows (with their raw keys when `keepKeys`).
    /// `group` picks the labels and, through them, the sparse fields.
    static func fit(path: String, capacities: [Int], maxRows: Int?, group: CensusTaskGroup = .incomeMarital,
                    keepKeys: Bool = false) throws(DatasetError)
        -> (encoder: CensusEncoder, data: TabularData, warnings: [String]) {
        let denseCount = CensusIncome.denseNames.count
        let names = group.sparseNames, columns = CensusLine.sparseColumns(group)
        let fieldCount = names.count
        var fields = [FieldVocabulary](repeating: FieldVocabulary(), count: fieldCount)
        var lo = [Float](repeating: .infinity, count: denseCount)
        var hi = [Float](repeating: -.infinity, count: denseCount)
        var dense: [Float] = []  // unscaled until the ranges are known
        var ids: [Int32] = []  // local rows until the table offsets are known
        var keys: [UInt64] = []
        var labels: [Float] = []
        let count = try CensusLine.forEachRow(path: path, maxRows: maxRows) { line, bytes, number throws(DatasetError) in
            let (first, marital) = try line.labels(group, bytes, path: path, number: number)
            for d in 0 ..< denseCount {
                let v = try line.rawDense(d, bytes, path: path, number: number)
                lo[d] = min(lo[d], v)
                hi[d] = max(hi[d], v)
                dense.append(v)
            }
            for f in 0 ..< fieldCount {
                let r = line.range(columns[f])
                // The vocabulary is saved as text with the model: bytes that are not UTF-8 would not
                // survive the trip (two such values would become one), so they are refused here.
                guard MessageText.isUTF8(bytes[r]) else {
                    throw DatasetError(file: path, line: number, field: names[f],
                                       "\"\(CensusLine.text(bytes, r))\" is not UTF-8 text; category values must be UTF-8 (re-encode the file, e.g. with iconv)")
                }
                let key = FieldHash.key(field: f, bytes, r)
                if keepKeys { keys.append(key) }
                do throws(FieldVocabulary.Collision) { ids.append(try fields[f].findOrInsert(key: key, bytes, r)) } catch {
                    throw collisionError(error, file: path, line: number, field: f, group: group)
                }
            }
            labels.append(first)
            labels.append(marital)
        }
        guard count > 0 else {
            throw DatasetError(file: path, "no rows: the training file is empty" + (maxRows.map { $0 <= 0 ? " (or the row limit is \($0))" : "" } ?? ""))
        }

        var warnings: [String] = []
        for (f, field) in fields.enumerated() where field.count > capacities[f] {
            warnings.append("table_size_array: field \(names[f]) has \(field.count) distinct values, more than its capacity \(capacities[f]); the table grows to \(field.count)")
        }
        let encoder = CensusEncoder(denseMin: lo, denseMax: hi, capacities: capacities, fields: fields, group: group)
        for i in 0 ..< count {
            for d in 0 ..< denseCount { dense[i * denseCount + d] = encoder.scale(dense[i * denseCount + d], dense: d) }
            for f in 0 ..< fieldCount { ids[i * fieldCount + f] += Int32(encoder.schema.fieldOffsets[f]) }
        }
        let data = TabularData(count: count, denseWidth: denseCount, dense: dense, fieldCount: fieldCount, ids: ids,
                               taskNames: group.taskNames, labels: labels, keys: keepKeys ? keys : nil)
        return (encoder, data, warnings)
    }

    /// Encodes a raw Census file (a test split, or any later data) exactly as the training split was:
    /// values never seen in training go to their field's unknown row and dense values are clipped to
    /// [0, 1]. `maxRows` keeps only the first rows (nil: all). `keepKeys`: also each value's raw
    /// key (`TabularData.keys`), for dynamic embedding tables; unknown values keep theirs too.
    public func encode(path: String, maxRows: Int? = nil, keepKeys: Bool = false) throws(DatasetError) -> TabularData {
        var all: TabularData?
        try scan(reader: try ChunkReader(path: path), chunkRows: .max, maxRows: maxRows, keepKeys: keepKeys) { chunk in
            all = chunk
            return false
        }
        if let all { return all }
        var empty = CensusChunk(reserveRows: 0, group: group, keepKeys: keepKeys)
        return empty.take()
    }
}
