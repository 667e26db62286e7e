/// The schema reader's fast path: a record without quotes, with the right number of fields, plain
/// decimals and well-formed labels (nearly every record of a data file) is split, parsed and hashed
/// by `CSVKernels` into scratch rows; anything else returns nil and goes through
/// `encodeChecked`, which encodes it the same way or names what is wrong.
extension SchemaEncoding {
    /// One record's values before they join the rows, in buffers of their own (no array to check,
    /// retain or release per record). A copy of the encoding shares it (it is scratch space, and its
    /// memo a cache: sharing changes no result), so two copies must not encode on two threads at
    /// once; `encodeInParallel` makes one encoding per share.
    final class FastScratch {
        /// Field `k` of the record ends at `ends[k]` (room for one field more than the layout's, to
        /// tell a record with too many, and the two slots `splitUnquoted` writes past it).
        let ends: UnsafeMutableBufferPointer<Int>
        let labels: UnsafeMutableBufferPointer<Float>
        let dense: UnsafeMutableBufferPointer<Float>
        /// Ids and keys: room for one per sparse feature plus one per byte of the record.
        private(set) var ids: UnsafeMutableBufferPointer<Int32>
        private(set) var keys: UnsafeMutableBufferPointer<UInt64>
        let fieldEnds: UnsafeMutableBufferPointer<Int32>
        /// Each sparse feature's memo of values and keys.
        let memo: CSVKernels.MemoTable

        init(plan: Plan) {
            ends = .allocate(capacity: plan.layout.columnCount + 3)
            ends.initialize(repeating: 0)
            labels = .allocate(capacity: plan.taskColumns.count)
            labels.initialize(repeating: .nan)
            dense = .allocate(capacity: plan.denseColumns.count)
            dense.initialize(repeating: 0)
            fieldEnds = .allocate(capacity: plan.fieldColumns.count)
            fieldEnds.initialize(repeating: 0)
            ids = .allocate(capacity: 0)
            keys = .allocate(capacity: 0)
            memo = CSVKernels.MemoTable(features: plan.fieldColumns.count)
        }

        /// Room for `room` ids (and keys).
        func reserve(_ room: Int) {
            guard ids.count < room else { return }
            ids.deallocate()
            keys.deallocate()
            ids = .allocate(capacity: 2 * room)
            ids.initialize(repeating: 0)
            keys = .allocate(capacity: 2 * room)
            keys.initialize(repeating: 0)
        }

        deinit {
            for buffer in [UnsafeMutableRawBufferPointer(ends), UnsafeMutableRawBufferPointer(labels), UnsafeMutableRawBufferPointer(dense),
                           UnsafeMutableRawBufferPointer(ids), UnsafeMutableRawBufferPointer(keys), UnsafeMutableRawBufferPointer(fieldEnds)] {
                buffer.deallocate()
            }
        }
    }

    /// Encodes `bytes[record]` into `scratch`: the number of ids, or nil when the checked path
    /// must decide (a quote, a wrong field count, a value that is not plain or not valid).
    mutating func encodeFast(_ bytes: [UInt8], _ record: Range<Int>) -> Int? {
        bytes.withUnsafeBufferPointer { encodeFast($0, record) }
    }

    /// `encodeFast` on the buffer of the block's bytes.
    func encodeFast(_ b: UnsafeBufferPointer<UInt8>, _ record: Range<Int>) -> Int? {
        let columns = plan.layout.columnCount
        let start = record.lowerBound, end = record.upperBound
        let room = record.count + plan.fieldSpecs.count
        guard ids.count + room <= Int(Int32.max), let base = b.baseAddress else { return nil }
        let scratch = scratch, ends = scratch.ends
        let found = CSVKernels.splitUnquoted(b, start: start, end: end, delimiter: plan.delimiter, quote: plan.quote, ends: ends, limit: columns + 1)
        guard found == columns else { return nil }
        // Labels: few per record, so plain code, with the common 0 and 1 first.
        for t in plan.taskColumns.indices {
            guard let c = plan.taskColumns[t] else { scratch.labels[t] = .nan; continue }
            let (lo, hi) = CSVKernels.field(base, start, UnsafeBufferPointer(ends), c, trim: plan.trim)
            if lo == hi {
                if plan.taskRequired[t] { return nil }
                scratch.labels[t] = .nan
                continue
            }
            let r = lo ..< hi
            if plan.taskIsBinary[t] {
                if let positive = plan.taskPositive[t] {
                    if positive.contains(where: { $0.elementsEqual(b[r]) }) {
                        scratch.labels[t] = 1
                    } else {
                        if let negative = plan.taskNegative[t], !negative.contains(where: { $0.elementsEqual(b[r]) }) { return nil }
                        scratch.labels[t] = 0
                    }
                } else if hi - lo == 1 && (base[lo] == UInt8(ascii: "0") || base[lo] == UInt8(ascii: "1")) {
                    scratch.labels[t] = base[lo] == UInt8(ascii: "1") ? 1 : 0
                } else {
                    guard let value = Self.binary(Array(b[r]), 0 ..< r.count) else { return nil }
                    scratch.labels[t] = value
                }
            } else {
                guard let value = CSVKernels.decimal(base, lo, hi, b.count, CSVKernels.powerTable, CSVKernels.memoMasks) ?? DecimalParser.parse(Array(b[r]), 0 ..< r.count),
                      let f = Optional(Float(value)), f.isFinite else { return nil }
                scratch.labels[t] = f
            }
        }
        let parsed = plan.denseSpecs.withUnsafeBufferPointer { specs in
            CSVKernels.parseDense(b, start: start, ends: UnsafeBufferPointer(ends), specs: specs, out: scratch.dense)
        }
        guard parsed else { return nil }
        scratch.reserve(room)
        let keys = plan.keepKeys ? scratch.keys : nil
        let count = plan.fieldSpecs.withUnsafeBufferPointer { specs in
            CSVKernels.hashFields(b, start: start, ends: UnsafeBufferPointer(ends), specs: specs, ids: scratch.ids, keys: keys,
                                  fieldEnds: scratch.fieldEnds, memo: scratch.memo)
        }
        return count < 0 ? nil : count
    }
}
