/// The two schema options the CSV kernels do not compute, done on each encoded chunk instead:
/// `"vocabulary": "fit"` (a sparse feature's values looked up in the training values, in
/// first-seen order, with a row for unseen values) and a clipped `minmax` (`"clip": true`). They
/// express the built-in Census reader's encoding as a schema.
///
/// The kernels read such a schema as `kernelSchema`: fitted-vocabulary fields hashed as usual with
/// their raw 64-bit keys kept, clipped features passed through as raw Floats. `SchemaVocabulary.Fit`
/// learns the values from the training scan's chunks, and `SchemaVocabulary.Remap` turns a chunk's
/// keys into table rows and its raw values into clipped ones with the fitted schema.
enum SchemaVocabulary {
    /// What the kernels encode for `schema`: clipped `minmax` features as raw values (the remap
    /// scales them).
    static func kernelSchema(_ schema: DataSchema) -> DataSchema {
        var kernel = schema
        for i in kernel.features.indices where kernel.features[i].kind == .dense && kernel.features[i].clip {
            kernel.features[i].transform = .none
            kernel.features[i].statistics = nil
        }
        return kernel
    }

    /// Whether reading `schema` needs a remap of the kernels' rows.
    static func needed(_ schema: DataSchema) -> Bool { schema.fitsVocabularies || schema.clipsDense }

    /// Key -> local row of a fitted field's `values` (field `f` among the sparse and tag fields);
    /// a value listed twice, or two values with one key, is an error naming `place`.
    static func table(_ values: [String], field f: Int, file: String, place: String) throws(DatasetError) -> [UInt64: Int32] {
        var table: [UInt64: Int32] = [:]
        table.reserveCapacity(values.count)
        var byKey: [UInt64: String] = [:]
        for (row, value) in values.enumerated() {
            let bytes = Array(value.utf8)
            let key = FieldHash.key(field: f, bytes, bytes.indices)
            if let other = byKey[key] {
                throw DatasetError(file: file, field: place, other == value
                    ? "value \"\(value)\" is listed twice; the rows after it would shift"
                    : "values \"\(other)\" and \"\(value)\" have the same 64-bit key \(String(key, radix: 16)); they cannot be kept apart")
            }
            byKey[key] = value
            table[key] = Int32(row)
        }
        return table
    }

    /// Turns a chunk the kernels encoded from `kernelSchema(schema)` (keys kept) into the rows of
    /// the fitted `schema`: every id from its key (a fitted field's value to its row, or to the
    /// field's last row when unseen in training; a hashed one to its bucket, with the fitted
    /// table's offsets), and clipped `minmax` features scaled.
    struct Remap: Sendable {
        let offsets: [Int32]
        /// The field offsets the rows were encoded with (`offsets` unless the layout grew since).
        let encodedOffsets: [Int32]
        let buckets: [UInt64]
        /// Per field: the fitted vocabulary, nil for a hashed field.
        let tables: [[UInt64: Int32]?]
        let unknownRows: [Int32]
        let width: Int
        /// Per field: whether it is an identity field (`"vocabulary": "identity"`).
        let identity: [Bool]
        let clipped: [(column: Int, statistics: SchemaFeature.Statistics)]
        /// Whether the rows keep their keys after the remap.
        let keepKeys: Bool

        /// nil when `schema` is not fitted yet (the scan's raw read: the rows stay as encoded).
        /// `scaleDense` false: the ids only (the scan's kept rows, scaled by `SchemaStatistics`).
        /// `encodedWith`: the schema the chunk's rows were encoded with when not `schema` (the scan's
        /// raw read, before the vocabularies grew), whose offsets an identity field's rows move from.
        init?(schema: DataSchema, keepKeys: Bool, file: String, scaleDense: Bool = true, encodedWith: DataSchema? = nil) throws(DatasetError) {
            guard schema.isFitted else { return nil }
            let fields = schema.fieldFeatures
            let layout = schema.featureSchema
            offsets = layout.fieldOffsets.map { Int32($0) }
            encodedOffsets = (encodedWith ?? schema).featureSchema.fieldOffsets.map { Int32($0) }
            unknownRows = fields.indices.map { Int32(layout.unknownRow(field: $0)) }
            buckets = fields.map { UInt64($0.buckets) }
            identity = fields.map { $0.vocabulary == .identity }
            var tables: [[UInt64: Int32]?] = []
            for (f, feature) in fields.enumerated() {
                tables.append(feature.vocabulary == .fit
                    ? try SchemaVocabulary.table(feature.values ?? [], field: f, file: file, place: "values of \(feature.name)") : nil)
            }
            self.tables = tables
            let dense = schema.denseFeatures
            width = dense.count
            clipped = !scaleDense ? [] : dense.indices.compactMap { d in dense[d].clip ? dense[d].statistics.map { (d, $0) } : nil }
            self.keepKeys = keepKeys
        }

        func apply(_ data: inout TabularData) {
            for (column, statistics) in clipped {
                for r in 0 ..< data.count { data.dense[r * width + column] = statistics.clipped(data.dense[r * width + column]) }
            }
            if let keys = data.keys {
                let fieldCount = data.fieldCount
                data.ids.withUnsafeMutableBufferPointer { ids in
                    // An identity field's row is its value, not a function of its key: kept, moved to the field's offset.
                    func row(_ f: Int, _ key: UInt64, _ id: Int32) -> Int32 {
                        if let table = tables[f] { return table[key].map { offsets[f] + $0 } ?? unknownRows[f] }
                        return identity[f] ? id - encodedOffsets[f] + offsets[f] : offsets[f] + Int32(truncatingIfNeeded: key % buckets[f])
                    }
                    if let bags = data.bagOffsets {
                        for i in 0 ..< data.count * fieldCount {
                            let f = i % fieldCount
                            for j in Int(bags[i]) ..< Int(bags[i + 1]) { ids[j] = row(f, keys[j], ids[j]) }
                        }
                    } else {
                        for i in 0 ..< ids.count { ids[i] = row(i % fieldCount, keys[i], ids[i]) }
                    }
                }
            }
            if !keepKeys { data.keys = nil }
        }
    }

    /// The fitting of the vocabularies over the training scan's chunks, in file order: each field's
    /// distinct values in first-seen order. A value's text is taken from its record the first time
    /// its key is seen (and must be UTF-8, as the model's manifest keeps it as text); later records
    /// are matched by key alone.
    struct Fit {
        /// Per sparse or tag field: its vocabulary when fitted, else nil.
        private(set) var vocabularies: [FieldVocabulary?]
        /// Per field: its column in the file's layout.
        private let featureIndex: [Int]
        private let delimiter: UInt8, quote: UInt8

        init(schema: DataSchema) {
            let fields = schema.features.indices.filter { schema.features[$0].kind != .dense }
            featureIndex = fields
            vocabularies = fields.map { schema.features[$0].vocabulary == .fit ? FieldVocabulary() : nil }
            delimiter = schema.delimiter
            quote = schema.quote
        }

        var isEmpty: Bool { !vocabularies.contains { $0 != nil } }

        /// Adds the values of `chunk`, the rows the kernels encoded from the records of `block`.
        mutating func add(_ chunk: TabularData, block: LineBlock, layout: SchemaLayout, path: String) throws(DatasetError) {
            guard !isEmpty, let keys = chunk.keys else { return }
            let fieldCount = chunk.fieldCount
            var records: [Int]?  // the block's non-blank records, found once a new value needs its text
            for r in 0 ..< chunk.count {
                for f in 0 ..< fieldCount where vocabularies[f] != nil {
                    // A sparse field's one id; with tag fields in the schema, the ids are laid out by bags.
                    let key = keys[chunk.bagOffsets.map { Int($0[r * fieldCount + f]) } ?? r * fieldCount + f]
                    if vocabularies[f]!.localRow[key] != nil { continue }
                    if records == nil {
                        records = block.lines.indices.filter { i in
                            !block.bytes[block.lines[i]].allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
                        }
                    }
                    let i = records![r]
                    var fields = CSVFields(delimiter: delimiter, quote: quote)
                    let source: [UInt8]
                    do { source = try fields.split(block.bytes, block.lines[i]) } catch {
                        throw DatasetError(file: path, line: block.number(i), error.message)
                    }
                    let column = layout.featureColumns[featureIndex[f]]
                    let value = SchemaEncoding.trimmed(source, fields.ranges[column])
                    guard MessageText.isUTF8(source[value]) else {
                        throw DatasetError(file: path, line: block.number(i), field: layout.describe(column),
                                           "\"\(MessageText.escape(source[value]))\" is not UTF-8 text; the values of a fitted vocabulary must be UTF-8 (re-encode the file, e.g. with iconv)")
                    }
                    precondition(FieldHash.key(field: f, source, value) == key, "SchemaVocabulary.Fit: the record's value does not give the kernel's key")
                    do { _ = try vocabularies[f]!.findOrInsert(key: key, source, value) } catch {
                        throw DatasetError(file: path, line: block.number(i), field: layout.describe(column),
                                           "values \"\(error.existing)\" and \"\(error.new)\" have the same 64-bit key \(String(error.key, radix: 16)); they cannot be kept apart")
                    }
                }
            }
        }

        /// `schema` with the fitted values of its `"vocabulary": "fit"` features.
        func fitted(_ schema: DataSchema) -> DataSchema {
            var out = schema
            for (f, vocabulary) in vocabularies.enumerated() {
                if let vocabulary { out.features[featureIndex[f]].values = vocabulary.values }
            }
            return out
        }
    }
}
