/// Fitted on the training split: per-field vocabularies (hash key -> fused-table row) and dense
/// min/max. Kept so that later work (checkpoints, a predict command) can encode new rows exactly as
/// in training.
public struct CensusEncoder: Sendable, Equatable {
    /// The fused embedding table's layout: rows per field, unknown rows included.
    public let schema: FeatureSchema
    /// Training minimum and maximum of each dense field, in `CensusIncome.denseNames` order.
    public let denseMin: [Float]
    /// Training maximum of each dense field, in the same order.
    public let denseMax: [Float]
    /// The capacities asked for (`--table_size_array`); `schema.fieldRows` may be larger.
    public let capacities: [Int]
    /// Per sparse field: key (`FieldHash`) of each training value -> its fused-table row.
    public let vocabularies: [[UInt64: Int32]]
    /// The labels this encoder reads, which also decide the sparse fields (`group.sparseNames`).
    public let group: CensusTaskGroup
    /// Per sparse field, the training values with their bytes, to catch key collisions.
    let fields: [FieldVocabulary]
    /// The encoder as a fitted schema of the schema reader (`CensusTaskGroup.schema` with the
    /// vocabularies and ranges), which reads the files.
    public let dataSchema: DataSchema

    /// Per sparse field: the distinct training values in row order (first seen first). With
    /// `denseMin`, `denseMax` and `capacities` this is all a checkpoint needs to rebuild the encoder.
    /// (Bytes that are not UTF-8 show as U+FFFD here; the Census files are ASCII.)
    public var values: [[String]] { fields.map(\.values) }

    /// Rebuilds an encoder from what a checkpoint keeps (see `values`, and `group`).
    public init(denseMin: [Float], denseMax: [Float], capacities: [Int], values: [[String]],
                group: CensusTaskGroup = .incomeMarital) throws(DatasetError) {
        let file = "census encoder"
        guard denseMin.count == CensusIncome.denseNames.count, denseMax.count == denseMin.count else {
            throw DatasetError(file: file, "expected \(CensusIncome.denseNames.count) dense minima and maxima, got \(denseMin.count) and \(denseMax.count)")
        }
        guard values.count == group.sparseNames.count else {
            throw DatasetError(file: file, "expected values for \(group.sparseNames.count) sparse fields, got \(values.count)")
        }
        try CensusIncome.checkTableSizes(capacities, group: group)
        var fields: [FieldVocabulary] = []
        for (f, fieldValues) in values.enumerated() {
            var vocabulary = FieldVocabulary()
            for value in fieldValues {
                let bytes = Array(value.utf8)
                let before = vocabulary.count
                do { _ = try vocabulary.findOrInsert(key: FieldHash.key(field: f, bytes, bytes.indices), bytes, bytes.indices) } catch {
                    throw Self.collisionError(error, file: file, line: nil, field: f, group: group)
                }
                guard vocabulary.count > before else {
                    throw DatasetError(file: file, field: group.sparseNames[f], "value \"\(value)\" is listed twice; the rows after it would shift")
                }
            }
            fields.append(vocabulary)
        }
        self.init(denseMin: denseMin, denseMax: denseMax, capacities: capacities, fields: fields, group: group)
    }

    init(denseMin: [Float], denseMax: [Float], capacities: [Int], fields: [FieldVocabulary], group: CensusTaskGroup = .incomeMarital) {
        let rows = zip(capacities, fields).map { max($0, $1.count) + 1 }
        let schema = FeatureSchema(denseNames: CensusIncome.denseNames, fieldNames: group.sparseNames, fieldRows: rows)
        self.group = group
        self.schema = schema
        self.denseMin = denseMin
        self.denseMax = denseMax
        self.capacities = capacities
        self.fields = fields
        vocabularies = fields.enumerated().map { f, field in
            field.localRow.mapValues { $0 + Int32(schema.fieldOffsets[f]) }
        }
        var fitted = group.schema(tableSizes: capacities)
        var d = 0, f = 0
        for i in fitted.features.indices {
            if fitted.features[i].kind == .dense {
                let lo = Double(denseMin[d]), hi = Double(denseMax[d])
                fitted.features[i].statistics = .init(shift: lo, scale: hi > lo ? hi - lo : 0)
                d += 1
            } else {
                fitted.features[i].values = fields[f].values
                f += 1
            }
        }
        dataSchema = fitted
    }

    /// The encoder of a Census schema fitted by `SchemaScan` (`file` names the training file in errors).
    init(fitted: DataSchema, capacities: [Int], group: CensusTaskGroup, file: String) throws(DatasetError) {
        let dense = fitted.denseFeatures.map { $0.statistics ?? .init(shift: 0, scale: 0) }
        try self.init(denseMin: dense.map { Float($0.shift) }, denseMax: dense.map { Float($0.shift + $0.scale) }, capacities: capacities,
                      values: fitted.fieldFeatures.map { $0.values ?? [] }, group: group)
        guard dataSchema == fitted else {
            throw DatasetError(file: file, "the fitted Census encoder does not reproduce the schema it was fitted as (a dense range not representable as Float)")
        }
    }

    /// Min-max scaling with the training range, clipped to [0, 1]; a field that was constant in
    /// training gives 0.
    /// Computed in Double: a range such as [-3e38, 3e38] overflows Float's max - min.
    public func scale(_ raw: Float, dense d: Int) -> Float {
        let lo = Double(denseMin[d]), span = Double(denseMax[d]) - lo
        guard span > 0 else { return 0 }
        return Float(min(max((Double(raw) - lo) / span, 0), 1))
    }

    /// Fused-table row of `value` in sparse field `f`: its training row, or the field's unknown row.
    public func row(field f: Int, value: String) throws(DatasetError) -> Int32 {
        let bytes = Array(value.utf8)
        return try row(field: f, bytes, bytes.indices, file: "census encoder", line: nil)
    }

    func row(field f: Int, _ bytes: [UInt8], _ r: Range<Int>, file: String, line: Int?) throws(DatasetError) -> Int32 {
        let local: Int32?
        do { local = try fields[f].find(key: FieldHash.key(field: f, bytes, r), bytes, r) } catch {
            throw Self.collisionError(error, file: file, line: line, field: f, group: group)
        }
        return Int32(local.map { schema.fieldOffsets[f] + Int($0) } ?? schema.unknownRow(field: f))
    }

    static func collisionError(_ c: FieldVocabulary.Collision, file: String, line: Int?, field f: Int,
                               group: CensusTaskGroup = .incomeMarital) -> DatasetError {
        DatasetError(file: file, line: line, field: group.sparseNames[f],
                     "values \"\(c.existing)\" and \"\(c.new)\" have the same 64-bit key \(String(c.key, radix: 16)); they cannot be kept apart")
    }
}
