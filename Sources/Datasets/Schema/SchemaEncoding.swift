import Foundation

/// The per-record work of the schema reader: split a record into fields, check their count, parse
/// the dense and label columns, hash the sparse and tag values, and collect the rows for one
/// `TabularData`. Each thread encoding part of a block has its own.
struct SchemaEncoding: LineEncoding {
    /// What every record of a file needs, precomputed from the schema and the file's layout.
    struct Plan: Sendable {
        let layout: SchemaLayout
        let denseColumns: [Int]
        let denseDefaults: [Double]
        let denseTransforms: [SchemaFeature.Transform]
        /// (shift, scale) of each dense feature; (0, 1) when it has no statistics.
        let denseShift: [Double], denseScale: [Double]
        let fieldColumns: [Int]
        let fieldIsTags: [Bool]
        let fieldSeparators: [UInt8]
        let fieldBuckets: [UInt64]
        let fieldOffsets: [Int32]
        let taskColumns: [Int?]
        let taskIsBinary: [Bool]
        /// The UTF-8 bytes of each binary task's positive strings (nil: 0/1/true/false).
        let taskPositive: [[[UInt8]]?]
        let taskNames: [String]
        /// Each binary task's strings that count as 0 when it has a `negative` list: any other
        /// non-empty label is an error.
        let taskNegative: [[[UInt8]]?]
        /// Dense features whose empty cell is an error (`required`).
        let denseRequired: [Bool]
        /// Tasks whose empty label is an error (`required`).
        let taskRequired: [Bool]
        /// Per field: `"vocabulary": "identity"`, and whether it clamps (`clip`).
        let fieldIdentity: [Bool], fieldClamp: [Bool]
        /// Whether spaces around values are dropped (`DataSchema.trim`).
        let trim: Bool
        /// What gave the field count every record must have, for messages.
        let countSource: String
        let hasBags: Bool
        let keepKeys: Bool
        let delimiter: UInt8, quote: UInt8
        /// The dense and the sparse/tag features as the fast path's kernels take them.
        let denseSpecs: [CSVKernels.DenseSpec]
        let fieldSpecs: [CSVKernels.FieldSpec]
        /// Try the fast path (`encodeFast`) before the checked one; false (tests) encodes every
        /// record with the checked path.
        var fastPath = true

        init(schema: DataSchema, layout: SchemaLayout, keepKeys: Bool) {
            self.layout = layout
            let dense = schema.features.indices.filter { schema.features[$0].kind == .dense }
            let fields = schema.features.indices.filter { schema.features[$0].kind != .dense }
            denseColumns = dense.map { layout.featureColumns[$0] }
            denseDefaults = dense.map { schema.features[$0].defaultValue }
            denseTransforms = dense.map { schema.features[$0].transform }
            denseShift = dense.map { schema.features[$0].statistics?.shift ?? 0 }
            denseScale = dense.map { schema.features[$0].statistics?.scale ?? 1 }
            fieldColumns = fields.map { layout.featureColumns[$0] }
            fieldIsTags = fields.map { schema.features[$0].kind == .tags }
            fieldSeparators = fields.map { schema.features[$0].separator }
            fieldBuckets = fields.map { UInt64(schema.features[$0].buckets) }
            fieldOffsets = schema.featureSchema.fieldOffsets.map { Int32($0) }
            taskColumns = layout.taskColumns
            taskIsBinary = schema.tasks.map { $0.type == .binary }
            taskPositive = schema.tasks.map { $0.positive?.map { Array($0.utf8) } }
            taskNames = schema.taskNames
            taskNegative = schema.tasks.map { $0.negative?.map { Array($0.utf8) } }
            denseRequired = dense.map { schema.features[$0].required }
            taskRequired = schema.tasks.map(\.required)
            fieldIdentity = fields.map { schema.features[$0].vocabulary == .identity }
            fieldClamp = fields.map { schema.features[$0].vocabulary == .identity && schema.features[$0].clip }
            let trim = schema.trim
            self.trim = trim
            countSource = schema.header ? "as the header has" : schema.names != nil ? "the schema's \"names\" lists \(layout.columnCount)" : "as the first record has"
            hasBags = schema.hasBags
            self.keepKeys = keepKeys
            delimiter = schema.delimiter
            quote = schema.quote
            let denseDefaults = denseDefaults, denseShift = denseShift, denseScale = denseScale
            denseSpecs = dense.indices.map { d in
                let transform: UInt8 = switch schema.features[dense[d]].transform {
                case .none: 0
                case .log1p: 1
                case .standardize, .minmax: 2
                }
                // A required feature's empty cell: a NaN default fails the kernel's finite check, so
                // the checked path names it.
                return CSVKernels.DenseSpec(column: layout.featureColumns[dense[d]],
                                            defaultValue: schema.features[dense[d]].required ? .nan : denseDefaults[d], transform: transform,
                                            shift: denseShift[d], scale: denseScale[d], trim: trim)
            }
            fieldSpecs = fields.indices.map { f in
                let buckets = UInt64(schema.features[fields[f]].buckets)
                return CSVKernels.FieldSpec(column: layout.featureColumns[fields[f]], seed: FieldHash.seed(field: f), buckets: buckets,
                                            mask: buckets &- 1, powerOfTwo: buckets > 0 && buckets & (buckets &- 1) == 0,
                                            offset: Int32(schema.featureSchema.fieldOffsets[f]),
                                            isTags: schema.features[fields[f]].kind == .tags, separator: schema.features[fields[f]].separator,
                                            trim: trim, identity: schema.features[fields[f]].vocabulary == .identity)
            }
        }
    }

    let plan: Plan
    var fields: CSVFields
    private(set) var count = 0
    private var dense: [Float] = []
    private(set) var ids: [Int32] = []
    private var bagOffsets: [Int32] = [0]
    private var keys: [UInt64] = []
    private var labels: [Float] = []
    /// The fast path's scratch: the current record's field ends, labels, dense values, ids, keys
    /// and per-feature id counts, appended to the rows only once the whole record has encoded.
    var scratch: FastScratch

    init(plan: Plan, reserveRows: Int = 0) {
        self.plan = plan
        fields = CSVFields(delimiter: plan.delimiter, quote: plan.quote)
        scratch = FastScratch(plan: plan)
        if reserveRows > 0 {
            dense.reserveCapacity(reserveRows * plan.denseColumns.count)
            ids.reserveCapacity(reserveRows * plan.fieldColumns.count)
            labels.reserveCapacity(reserveRows * plan.taskColumns.count)
            if plan.keepKeys { keys.reserveCapacity(reserveRows * plan.fieldColumns.count) }
            if plan.hasBags { bagOffsets.reserveCapacity(reserveRows * plan.fieldColumns.count + 1) }
        }
    }

    mutating func encode(_ bytes: [UInt8], _ record: Range<Int>, number: Int, path: String) throws(DatasetError) -> Bool {
        if record.isEmpty { return false }
        let lead = bytes[record.lowerBound]
        if lead == 0x20 || lead == 0x09 || lead == 0x0D, bytes[record].allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return false }
        if plan.fastPath, let row = encodeFast(bytes, record) {
            append(row)
            return true
        }
        return try encodeChecked(bytes, record, number: number, path: path)
    }

    /// The fast path's row, now known good: appended to the rows.
    private mutating func append(_ row: Int) {
        let scratch = scratch
        labels.append(contentsOf: scratch.labels)
        dense.append(contentsOf: scratch.dense)
        let base = Int32(ids.count)
        ids.append(contentsOf: UnsafeBufferPointer(rebasing: scratch.ids[0 ..< row]))
        if plan.keepKeys { keys.append(contentsOf: UnsafeBufferPointer(rebasing: scratch.keys[0 ..< row])) }
        if plan.hasBags {
            for f in scratch.fieldEnds.indices { bagOffsets.append(base + scratch.fieldEnds[f]) }
        }
        count += 1
    }

    /// Encodes a record with every check, and every error message; the reference the fast path
    /// agrees with.
    mutating func encodeChecked(_ bytes: [UInt8], _ record: Range<Int>, number: Int, path: String) throws(DatasetError) -> Bool {
        let source: [UInt8]
        do { source = try fields.split(bytes, record) } catch {
            throw DatasetError(file: path, line: number, field: plan.layout.describe(error.column - 1), error.message)
        }
        let layout = plan.layout
        guard fields.count == layout.columnCount else {
            throw DatasetError(file: path, line: number, "found \(fields.count) field\(fields.count == 1 ? "" : "s"), expected \(layout.columnCount) "
                               + "(\(plan.countSource)) separated by \(Self.show(plan.delimiter))")
        }
        guard ids.count + source.count + plan.fieldColumns.count <= Int(Int32.max) else {
            throw DatasetError(file: path, line: number, "too many ids for one TabularData (2^31); read the file in smaller chunks")
        }
        let ranges = fields.ranges
        // Labels first, dense and identity values next: a row is appended only once every value has parsed.
        let labelStart = labels.count, denseStart = dense.count
        // Identity values are read with the numbers, since they can fail too.
        var identityRows: [Int: Int32] = [:]
        do throws(DatasetError) {
            for t in plan.taskColumns.indices {
                guard let c = plan.taskColumns[t] else { labels.append(.nan); continue }
                let r = trim(source, ranges[c])
                if r.isEmpty {
                    guard !plan.taskRequired[t] else {
                        throw DatasetError(file: path, line: number, field: layout.describe(c),
                                           "empty label of task \"\(plan.taskNames[t])\", which is required (every row has its label)")
                    }
                    labels.append(.nan)
                    continue
                }
                if plan.taskIsBinary[t] {
                    guard let value = Self.binaryLabel(source, r, positive: plan.taskPositive[t], negative: plan.taskNegative[t]) else {
                        throw DatasetError(file: path, line: number, field: layout.describe(c),
                                           Self.badBinaryLabel(source, r, task: plan.taskNames[t], positive: plan.taskPositive[t],
                                                               negative: plan.taskNegative[t], missing: "leave the cell empty"))
                    }
                    labels.append(value)
                } else {
                    guard let value = DecimalParser.parse(source, r), let f = Optional(Float(value)), f.isFinite else {
                        throw DatasetError(file: path, line: number, field: layout.describe(c),
                                           "label \(Self.quoted(source, r)) of regression task \"\(plan.taskNames[t])\" is not a number")
                    }
                    labels.append(f)
                }
            }
            for d in plan.denseColumns.indices {
                let c = plan.denseColumns[d]
                let r = trim(source, ranges[c])
                var x: Double
                if r.isEmpty {
                    guard !plan.denseRequired[d] else {
                        throw DatasetError(file: path, line: number, field: layout.describe(c), "empty, and the dense feature is required (it has no default)")
                    }
                    x = plan.denseDefaults[d]
                } else {
                    guard let value = DecimalParser.parse(source, r) else {
                        let text = String(decoding: source[r], as: UTF8.self)
                        let missing = ["?", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"].contains(text)
                        throw DatasetError(file: path, line: number, field: layout.describe(c), "\(Self.quoted(source, r)) is not a number (a dense feature"
                                           + (missing ? "; a missing value must be an empty cell, which takes the feature's default)" : ")"))
                    }
                    x = value
                }
                switch plan.denseTransforms[d] {
                case .none: break
                case .log1p:
                    guard x > -1 else {
                        throw DatasetError(file: path, line: number, field: layout.describe(c), "\(x) is not above -1, so log1p is undefined")
                    }
                    x = Foundation.log1p(x)
                case .standardize, .minmax:
                    x = (x - plan.denseShift[d]) / plan.denseScale[d]
                }
                let value = Float(x)
                guard value.isFinite else {
                    throw DatasetError(file: path, line: number, field: layout.describe(c), "\(Self.quoted(source, r)) is too large for a Float")
                }
                dense.append(value)
            }
            for f in plan.fieldColumns.indices where plan.fieldIdentity[f] {
                let c = plan.fieldColumns[f]
                identityRows[f] = try identityRow(f, source, trim(source, ranges[c]), column: c, number: number, path: path)
            }
        } catch {
            labels.removeSubrange(labelStart...)
            dense.removeSubrange(denseStart...)
            throw error
        }
        for f in plan.fieldColumns.indices {
            let r = ranges[plan.fieldColumns[f]]
            if plan.fieldIsTags[f] {
                let separator = plan.fieldSeparators[f]
                var tokenStart = r.lowerBound
                for i in r.lowerBound ... r.upperBound where i == r.upperBound || source[i] == separator {
                    let token = trim(source, tokenStart ..< i)
                    if !token.isEmpty { appendHashed(f, source, token) }
                    tokenStart = i + 1
                }
            } else if let row = identityRows[f] {
                ids.append(plan.fieldOffsets[f] + row)
                if plan.keepKeys { keys.append(Self.identityKey(field: f, row: row)) }
            } else {
                appendHashed(f, source, trim(source, r))
            }
            if plan.hasBags { bagOffsets.append(Int32(ids.count)) }
        }
        count += 1
        return true
    }

    /// The fused-table row of the value `bytes[r]` of field `f`, and its key when kept.
    @inline(__always) private mutating func appendHashed(_ f: Int, _ bytes: [UInt8], _ r: Range<Int>) {
        let key = FieldHash.key(field: f, bytes, r)
        ids.append(plan.fieldOffsets[f] + Int32(truncatingIfNeeded: key % plan.fieldBuckets[f]))
        if plan.keepKeys { keys.append(key) }
    }

    mutating func take() -> TabularData {
        let data = TabularData(count: count, denseWidth: plan.denseColumns.count, dense: dense, fieldCount: plan.fieldColumns.count,
                               ids: ids, taskNames: plan.taskNames, labels: labels, bagOffsets: plan.hasBags ? bagOffsets : nil,
                               keys: plan.keepKeys ? keys : nil)
        count = 0
        dense = []
        ids = []
        bagOffsets = [0]
        keys = []
        labels = []
        return data
    }

    /// `r` as the schema reads it: trimmed (`trimmed`) unless `"trim": false`.
    @inline(__always) func trim(_ bytes: [UInt8], _ r: Range<Int>) -> Range<Int> {
        plan.trim ? Self.trimmed(bytes, r) : r
    }

    /// The row (within its field) of an identity feature's value `bytes[r]`: an optionally signed
    /// decimal integer in [0, buckets), or clamped into it when the feature clips; anything else
    /// is an error naming the column.
    func identityRow(_ f: Int, _ bytes: [UInt8], _ r: Range<Int>, column c: Int, number: Int, path: String) throws(DatasetError) -> Int32 {
        let buckets = Int(plan.fieldBuckets[f])
        let rows = "[0, \(buckets))"
        guard let value = Self.integer(bytes, r) else {
            throw DatasetError(file: path, line: number, field: plan.layout.describe(c),
                               r.isEmpty ? "empty; an identity feature's value is its row, an integer in \(rows)"
                                   : "\(Self.quoted(bytes, r)) is not an integer; an identity feature's value is its row, in \(rows)")
        }
        if value >= 0 && value < buckets { return Int32(value) }
        guard plan.fieldClamp[f] else {
            throw DatasetError(file: path, line: number, field: plan.layout.describe(c),
                               "\(r.count > 20 ? Self.quoted(bytes, r) : String(decoding: bytes[r], as: UTF8.self)) is outside \(rows), the rows of this identity feature "
                               + "(\"clip\": true on the feature clamps it; for the built-in Taobao data, --clamp_price)")
        }
        return Int32(value < 0 ? 0 : buckets - 1)
    }

    /// The key an identity feature's row keeps (`TabularData.keys`): `FieldHash` of the row's
    /// decimal text, as if the value had been hashed, so `+7`, `07` and `7` share one key.
    static func identityKey(field f: Int, row: Int32) -> UInt64 {
        let text = Array(String(row).utf8)
        return FieldHash.key(field: f, text, text.indices)
    }

    /// An optionally signed decimal integer filling all of `r`; nil for anything else. Magnitudes
    /// past 10^15 saturate there, which is outside any table and cannot overflow.
    static func integer(_ bytes: [UInt8], _ r: Range<Int>) -> Int? {
        var i = r.lowerBound
        var negative = false
        if i < r.upperBound, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
            negative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        guard i < r.upperBound else { return nil }
        var value = 0
        while i < r.upperBound {
            let digit = Int(bytes[i]) - Int(UInt8(ascii: "0"))
            guard digit >= 0 && digit <= 9 else { return nil }
            value = min(value * 10 + digit, 1_000_000_000_000_000)
            i += 1
        }
        return negative ? -value : value
    }

    /// `r` without leading and trailing spaces (so `a, b` reads as in a spreadsheet).
    @inline(__always) static func trimmed(_ bytes: [UInt8], _ r: Range<Int>) -> Range<Int> {
        var lo = r.lowerBound, hi = r.upperBound
        while lo < hi && bytes[lo] == 0x20 { lo += 1 }
        while hi > lo && bytes[hi - 1] == 0x20 { hi -= 1 }
        return lo ..< hi
    }

    /// 0 or 1 from `0`, `1`, `0.0`, `1.0`, `true`, `false` (any case); nil otherwise.
    /// A binary task's label from its non-empty text: with a `positive` list, 1 for a listed
    /// string and 0 for any other (only those in `negative`, when it is given); without one, `binary`.
    /// nil when the task does not accept the text. The CSV and Parquet readers share this rule.
    static func binaryLabel(_ bytes: [UInt8], _ r: Range<Int>, positive: [[UInt8]]?, negative: [[UInt8]]?) -> Float? {
        guard let positive else { return binary(bytes, r) }
        if positive.contains(where: { $0.elementsEqual(bytes[r]) }) { return 1 }
        if let negative, !negative.contains(where: { $0.elementsEqual(bytes[r]) }) { return nil }
        return 0
    }

    /// Why `binaryLabel` refused `bytes[r]`, for the message; `missing` says how a file marks a
    /// missing label ("leave the cell empty", "make it null").
    static func badBinaryLabel(_ bytes: [UInt8], _ r: Range<Int>, task: String, positive: [[UInt8]]?, negative: [[UInt8]]?,
                               missing: String) -> String {
        if let positive {
            let listed = (positive + (negative ?? [])).map { "\"\(String(decoding: $0, as: UTF8.self))\"" }.joined(separator: ", ")
            return "unknown label \(quoted(bytes, r)) of binary task \"\(task)\"; expected one of \(listed)"
        }
        return "label \(quoted(bytes, r)) of binary task \"\(task)\" is not 0, 1, true or false "
            + "(list the values that count as 1 in the task's \"positive\", or \(missing) for a missing label)"
    }

    static func binary(_ bytes: [UInt8], _ r: Range<Int>) -> Float? {
        if let x = DecimalParser.parse(bytes, r), x == 0 || x == 1 { return Float(x) }
        switch String(decoding: bytes[r], as: UTF8.self).lowercased() {
        case "true": return 1
        case "false": return 0
        default: return nil
        }
    }

    /// The value as a message shows it: quoted, cut at 40 bytes, control bytes and bytes that are
    /// not UTF-8 escaped (`MessageText`), so a hostile file cannot put terminal controls in a message.
    static func quoted(_ bytes: [UInt8], _ r: Range<Int>) -> String {
        let cut = r.count > 40 ? r.lowerBound ..< r.lowerBound + 40 : r
        return "\"" + MessageText.escape(bytes[cut]) + (cut.count < r.count ? "..." : "") + "\""
    }

    static func show(_ byte: UInt8) -> String {
        byte == 0x09 ? "tabs" : "\"\(Character(UnicodeScalar(byte)))\""
    }
}

extension SchemaEncoding {
    /// No rows, in this encoding's layout.
    func emptyData() -> TabularData {
        var copy = self
        return copy.take()
    }
}
