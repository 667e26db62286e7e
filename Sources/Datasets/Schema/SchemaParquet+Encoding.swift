import Foundation

/// The column-wise work of `SchemaParquetReader`: a range of rows of one decoded row group turned
/// into `TabularData`, one column at a time, with every value treated as `SchemaEncoding` treats
/// its CSV text (the same trimming, hashing, dense transforms and label rules), so the rows are
/// the same as the CSV reader's.
struct SchemaParquetEncoder {
    let schema: DataSchema
    let keepKeys: Bool
    let group: ParquetRowGroup
    let rows: Range<Int>

    static let trueText = Array("true".utf8), falseText = Array("false".utf8)

    init(schema: DataSchema, keepKeys: Bool, group: ParquetRowGroup, rows: Range<Int>) {
        self.schema = schema
        self.keepKeys = keepKeys
        self.group = group
        self.rows = rows
    }

    private func fail(_ column: String, row r: Int, _ message: String) -> DatasetError {
        DatasetError(file: group.file, field: column, "row group \(group.index), row \(r + 1): \(message)")
    }

    private func column(_ name: String) -> ParquetColumnValues { group[name]! }

    func encode(_ binding: SchemaParquetReader.Binding) throws(DatasetError) -> TabularData {
        let n = rows.count
        let dense = schema.features.indices.filter { schema.features[$0].kind == .dense }
        let fields = schema.features.indices.filter { schema.features[$0].kind != .dense }
        // Labels
        var labels = [Float](repeating: .nan, count: n * schema.tasks.count)
        for (t, task) in schema.tasks.enumerated() {
            guard let name = binding.taskColumns[t] else { continue }
            try fillLabels(&labels, task: t, of: schema.tasks.count, task, column(name))
        }
        // Dense inputs
        var values = [Float](repeating: 0, count: n * dense.count)
        for (d, i) in dense.enumerated() {
            try fillDense(&values, d, of: dense.count, schema.features[i], column(binding.featureColumns[i]))
        }
        // Ids: one per (row, field), or bags of them when the schema has tags.
        let offsets = schema.featureSchema.fieldOffsets
        var perField: [(keys: [UInt64], bags: [Int32]?)] = []
        for (f, i) in fields.enumerated() {
            perField.append(keys(field: f, schema.features[i], column(binding.featureColumns[i])))
        }
        let buckets = fields.map { UInt64(schema.features[$0].buckets) }
        var ids: [Int32] = [], keys: [UInt64] = []
        var bagOffsets: [Int32]? = nil
        if schema.hasBags {
            let total = perField.reduce(0) { $0 + $1.keys.count }
            guard total <= Int(Int32.max) else {
                throw DatasetError(file: group.file, "row group \(group.index): more than 2^31 ids in one piece of rows")
            }
            ids.reserveCapacity(total)
            var bags: [Int32] = [0]
            bags.reserveCapacity(n * fields.count + 1)
            for r in 0 ..< n {
                for f in perField.indices {
                    let (fieldKeys, fieldBags) = perField[f]
                    let range = fieldBags.map { Int($0[r]) ..< Int($0[r + 1]) } ?? r ..< r + 1
                    for k in range {
                        ids.append(Int32(offsets[f]) + Int32(truncatingIfNeeded: fieldKeys[k] % buckets[f]))
                        if keepKeys { keys.append(fieldKeys[k]) }
                    }
                    bags.append(Int32(ids.count))
                }
            }
            bagOffsets = bags
        } else {
            ids = [Int32](repeating: 0, count: n * fields.count)
            if keepKeys { keys = [UInt64](repeating: 0, count: n * fields.count) }
            for f in perField.indices {
                let fieldKeys = perField[f].keys, base = Int32(offsets[f]), b = buckets[f], width = fields.count
                for r in 0 ..< n {
                    ids[r * width + f] = base + Int32(truncatingIfNeeded: fieldKeys[r] % b)
                    if keepKeys { keys[r * width + f] = fieldKeys[r] }
                }
            }
        }
        return TabularData(count: n, denseWidth: dense.count, dense: values, fieldCount: fields.count, ids: ids,
                           taskNames: schema.taskNames, labels: labels, bagOffsets: bagOffsets, keys: keepKeys ? keys : nil)
    }

    // MARK: Dense

    /// Column `c`'s rows as numbers (BOOLEAN as 1/0), in place `d` of each row of `out`.
    private func fillDense(_ out: inout [Float], _ d: Int, of width: Int, _ feature: SchemaFeature, _ c: ParquetColumnValues) throws(DatasetError) {
        let shift = feature.statistics?.shift ?? 0, scale = feature.statistics?.scale ?? 1
        for (k, r) in rows.enumerated() {
            var x: Double
            if c.isNull(r) {
                x = feature.defaultValue
            } else {
                x = Self.number(c.values, r)
                guard x.isFinite else { throw fail(c.name, row: r, "\(x) is not a finite number (a dense feature)") }
            }
            // As SchemaEncoding transforms a CSV cell's value.
            switch feature.transform {
            case .none: break
            case .log1p:
                guard x > -1 else { throw fail(c.name, row: r, "\(x) is not above -1, so log1p is undefined") }
                x = Foundation.log1p(x)
            case .standardize, .minmax:
                x = (x - shift) / scale
            }
            let value = Float(x)
            guard value.isFinite else { throw fail(c.name, row: r, "\(x) is too large for a Float") }
            out[k * width + d] = value
        }
    }

    /// Value `r` of a numeric column as a Double (exact for FLOAT and for integers up to 2^53).
    @inline(__always) static func number(_ values: ParquetValues, _ r: Int) -> Double {
        switch values {
        case .boolean(let v): v[r] ? 1 : 0
        case .int32(let v): Double(v[r])
        case .int64(let v): Double(v[r])
        case .float(let v): Double(v[r])
        case .double(let v): v[r]
        case .byteArray: .nan  // refused when the file is bound
        }
    }

    // MARK: Labels

    private func fillLabels(_ out: inout [Float], task t: Int, of width: Int, _ task: SchemaTask, _ c: ParquetColumnValues) throws(DatasetError) {
        let positive = task.positive?.map { Array($0.utf8) }, negative = task.negative?.map { Array($0.utf8) }
        // A string column is read as text; a numeric one is 0 or 1, unless the task lists its positive values.
        let isText = if case .byteArray = c.values { true } else { false }
        var scratch = [UInt8](repeating: 0, count: 24)  // an integer's digits
        let missing = { (r: Int) throws(DatasetError) in
            if task.required { throw self.fail(c.name, row: r, "no label for task \"\(task.name)\", which is required (every row has its label)") }
        }
        for (k, r) in rows.enumerated() {
            if c.isNull(r) { try missing(r); continue }
            let label: Float
            if task.type == .regression {
                let x = Self.number(c.values, r)
                guard let f = Optional(Float(x)), f.isFinite else {
                    throw fail(c.name, row: r, "label \(x) of regression task \"\(task.name)\" is not a finite number")
                }
                label = f
            } else if positive != nil || isText {
                // The value's text, labelled as a CSV cell's (FLOAT and DOUBLE have none to match a positive list).
                guard let (bytes, range) = Self.text(c.values, r, &scratch) else { continue }
                let cell = SchemaEncoding.trimmed(bytes, range)
                if cell.isEmpty { try missing(r); continue }  // an empty cell: a missing label
                guard let value = SchemaEncoding.binaryLabel(bytes, cell, positive: positive, negative: negative) else {
                    throw fail(c.name, row: r, SchemaEncoding.badBinaryLabel(bytes, cell, task: task.name, positive: positive, negative: negative,
                                                                             missing: "make it null"))
                }
                label = value
            } else {
                let x = Self.number(c.values, r)
                guard x == 0 || x == 1 else {
                    throw fail(c.name, row: r, "label \(x) of binary task \"\(task.name)\" is not 0 or 1 (a null is a missing label)")
                }
                label = Float(x)
            }
            out[k * width + t] = label
        }
    }

    // MARK: Ids

    /// Value `r` of a text-like column as the bytes its CSV cell holds: a string's bytes, an
    /// integer's decimal digits (written into `scratch`), `true`/`false`; nil for FLOAT/DOUBLE.
    @inline(__always) static func text(_ values: ParquetValues, _ r: Int, _ scratch: inout [UInt8]) -> ([UInt8], Range<Int>)? {
        switch values {
        case .byteArray(let v): return (v.bytes, v.offsets[r] ..< v.offsets[r + 1])
        case .int64(let v):
            let range = decimal(v[r], into: &scratch)
            return (scratch, range)
        case .int32(let v):
            let range = decimal(Int64(v[r]), into: &scratch)
            return (scratch, range)
        case .boolean(let v): return v[r] ? (trueText, 0 ..< 4) : (falseText, 0 ..< 5)
        case .float, .double: return nil
        }
    }

    /// Writes `value`'s decimal text at the end of `buffer` (24 bytes); returns where it lies.
    @inline(__always) static func decimal(_ value: Int64, into buffer: inout [UInt8]) -> Range<Int> {
        var m = value.magnitude
        var i = buffer.count
        repeat {
            i -= 1
            buffer[i] = UInt8(ascii: "0") + UInt8(m % 10)
            m /= 10
        } while m > 0
        if value < 0 {
            i -= 1
            buffer[i] = UInt8(ascii: "-")
        }
        return i ..< buffer.count
    }

    /// The keys of field `f` for each row: one per row (`bags` nil) for a sparse feature, or each
    /// row's bag of keys (`bags`: row offsets into `keys`) for a tags feature.
    private func keys(field f: Int, _ feature: SchemaFeature, _ c: ParquetColumnValues) -> (keys: [UInt64], bags: [Int32]?) {
        var keys: [UInt64] = []
        keys.reserveCapacity(rows.count)
        var scratch = [UInt8](repeating: 0, count: 24)  // an integer's digits
        @inline(__always) func hash(_ bytes: [UInt8], _ range: Range<Int>) -> UInt64 {
            FieldHash.key(field: f, bytes, SchemaEncoding.trimmed(bytes, range))
        }
        if feature.kind == .sparse {
            let empty: [UInt8] = []
            for r in rows {
                // A null is an empty cell, whose id is the empty value's.
                if c.isNull(r) { keys.append(FieldHash.key(field: f, empty, 0 ..< 0)); continue }
                let (bytes, range) = Self.text(c.values, r, &scratch)!
                keys.append(hash(bytes, range))
            }
            return (keys, nil)
        }
        var bags: [Int32] = [0]
        bags.reserveCapacity(rows.count + 1)
        if let offsets = c.offsets {
            // A list: each element a tag (null elements are already dropped; empty ones skipped).
            for r in rows {
                for e in offsets[r] ..< offsets[r + 1] {
                    let (bytes, range) = Self.text(c.values, e, &scratch)!
                    let cell = SchemaEncoding.trimmed(bytes, range)
                    if !cell.isEmpty { keys.append(FieldHash.key(field: f, bytes, cell)) }
                }
                bags.append(Int32(truncatingIfNeeded: keys.count))
            }
        } else if case .byteArray(let v) = c.values {
            // A string of separated values, split as a CSV cell is.
            let separator = feature.separator
            let bytes = v.bytes
            for r in rows {
                let range = v.offsets[r] ..< v.offsets[r + 1]
                var start = range.lowerBound
                for i in range.lowerBound ... range.upperBound where i == range.upperBound || bytes[i] == separator {
                    let token = SchemaEncoding.trimmed(bytes, start ..< i)
                    if !token.isEmpty { keys.append(FieldHash.key(field: f, bytes, token)) }
                    start = i + 1
                }
                bags.append(Int32(truncatingIfNeeded: keys.count))
            }
        }
        return (keys, bags)
    }
}
