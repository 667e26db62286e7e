/// The schema reader's fast path: a record without quotes, with the right number of fields, plain
/// decimals and well-formed labels (nearly every record of a data file) is split, parsed and hashed
/// by `CSVKernels` into scratch rows; anything else returns nil and goes through
/// `encodeChecked`, which encodes it the same way or names what is wrong.
extension SchemaEncoding {
    /// One record's values before they join the rows.
    struct FastScratch {
        /// Field `k` of the record ends at `ends[k]` (room for one field more than the layout's, to
        /// tell a record with too many, and the two slots `splitUnquoted` writes past it).
        var ends: [Int]
        var labels: [Float]
        var dense: [Float]
        /// Ids and keys: room for one per sparse feature plus one per byte of the record.
        var ids: [Int32] = []
        var keys: [UInt64] = []
        var fieldEnds: [Int32]
        /// Each sparse feature's memo of values and keys. A copy of the encoding shares it (it is
        /// a cache: sharing changes no result), so two copies must not encode on two threads at once;
        /// `encodeInParallel` makes one encoding per share.
        var memo: CSVKernels.MemoTable

        init(plan: Plan) {
            ends = Array(repeating: 0, count: plan.layout.columnCount + 3)
            labels = Array(repeating: .nan, count: plan.taskColumns.count)
            dense = Array(repeating: 0, count: plan.denseColumns.count)
            fieldEnds = Array(repeating: 0, count: plan.fieldColumns.count)
            memo = CSVKernels.MemoTable(features: plan.fieldColumns.count)
        }
    }

    /// Encodes `bytes[record]` into `scratch`: the number of ids, or nil when the checked path
    /// must decide (a quote, a wrong field count, a value that is not plain or not valid).
    mutating func encodeFast(_ bytes: [UInt8], _ record: Range<Int>) -> Int? {
        let columns = plan.layout.columnCount
        let start = record.lowerBound, end = record.upperBound
        let room = record.count + plan.fieldSpecs.count
        guard ids.count + room <= Int(Int32.max) else { return nil }
        let delimiter = plan.delimiter, quote = plan.quote
        let found = bytes.withUnsafeBufferPointer { b in
            scratch.ends.withUnsafeMutableBufferPointer { e in
                CSVKernels.splitUnquoted(b, start: start, end: end, delimiter: delimiter, quote: quote, ends: e, limit: columns + 1)
            }
        }
        guard found == columns else { return nil }
        // Labels: few per record, so checked code, with the common 0 and 1 first.
        for t in plan.taskColumns.indices {
            guard let c = plan.taskColumns[t] else { scratch.labels[t] = .nan; continue }
            let r = Self.trimmed(bytes, (c == 0 ? start : scratch.ends[c - 1] + 1) ..< scratch.ends[c])
            if r.isEmpty { scratch.labels[t] = .nan; continue }
            if plan.taskIsBinary[t] {
                if let positive = plan.taskPositive[t] {
                    scratch.labels[t] = positive.contains { $0.elementsEqual(bytes[r]) } ? 1 : 0
                } else if r.count == 1 && (bytes[r.lowerBound] == UInt8(ascii: "0") || bytes[r.lowerBound] == UInt8(ascii: "1")) {
                    scratch.labels[t] = bytes[r.lowerBound] == UInt8(ascii: "1") ? 1 : 0
                } else {
                    guard let value = Self.binary(bytes, r) else { return nil }
                    scratch.labels[t] = value
                }
            } else {
                guard let value = DecimalParser.parse(bytes, r), let f = Optional(Float(value)), f.isFinite else { return nil }
                scratch.labels[t] = f
            }
        }
        if scratch.ids.count < room {
            scratch.ids = Array(repeating: 0, count: 2 * room)
            if plan.keepKeys { scratch.keys = Array(repeating: 0, count: 2 * room) }
        }
        let keepKeys = plan.keepKeys, memo = scratch.memo
        return bytes.withUnsafeBufferPointer { b -> Int? in
            scratch.ends.withUnsafeBufferPointer { e -> Int? in
                let parsed = plan.denseSpecs.withUnsafeBufferPointer { specs in
                    scratch.dense.withUnsafeMutableBufferPointer { out in
                        CSVKernels.parseDense(b, start: start, ends: e, specs: specs, out: out)
                    }
                }
                guard parsed else { return nil }
                return plan.fieldSpecs.withUnsafeBufferPointer { specs in
                    scratch.ids.withUnsafeMutableBufferPointer { ids in
                        scratch.fieldEnds.withUnsafeMutableBufferPointer { fieldEnds in
                            if keepKeys {
                                return scratch.keys.withUnsafeMutableBufferPointer { keys in
                                    CSVKernels.hashFields(b, start: start, ends: e, specs: specs, ids: ids, keys: keys, fieldEnds: fieldEnds, memo: memo)
                                }
                            }
                            return CSVKernels.hashFields(b, start: start, ends: e, specs: specs, ids: ids, keys: nil, fieldEnds: fieldEnds, memo: memo)
                        }
                    }
                }
            }
        }
    }
}
