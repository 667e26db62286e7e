/// Rows ready for training, in flat row-major arrays: dense features, the ids of each sparse field
/// (one per field, or a bag of any number when `bagOffsets` is set), and one label per task. Readers (Census, synthetic, ...) produce it; the trainer cuts batches from it.
public struct TabularData: Sendable {
    /// Number of rows N.
    public var count: Int
    /// Dense feature count Dd.
    public let denseWidth: Int
    /// `[N, Dd]`, already scaled.
    public var dense: [Float]
    /// Sparse field count F (0 when the data has no sparse features).
    public let fieldCount: Int
    /// `[N, F]`: the row of the fused embedding table for each (row, field); see `FeatureSchema`.
    /// With `bagOffsets`, the bags of all (row, field) pairs one after another instead.
    public var ids: [Int32]
    /// nil: every (row, field) has exactly one id, `ids[r * F + f]` (Census, synthetic).
    /// Otherwise `[N * F + 1]`, starting at 0: the ids of (row r, field f) are
    /// `ids[bagOffsets[r * F + f] ..< bagOffsets[r * F + f + 1]]` (possibly none). Offsets must not
    /// decrease; `Int32` keeps them as compact as the ids, so one value holds fewer than 2^31 ids.
    public var bagOffsets: [Int32]?
    /// nil, or parallel to `ids`: the raw 64-bit key (`FieldHash`) of the value each id was hashed
    /// or looked up from, before it became a table row; what a dynamic embedding table (`--ev`)
    /// looks rows up by, so values that share a bucket keep rows of their own. Readers fill it only
    /// when asked (Taobao: `TaobaoOptions.keepKeys`; Census: always).
    public var keys: [UInt64]?
    /// Task names T, in label order (for Census: `income`, `marital`).
    public let taskNames: [String]
    /// `[N, T]`, 0 or 1 for binary tasks.
    public var labels: [Float]

    public init(count: Int, denseWidth: Int, dense: [Float], fieldCount: Int, ids: [Int32],
                taskNames: [String], labels: [Float], bagOffsets: [Int32]? = nil, keys: [UInt64]? = nil) {
        precondition(dense.count == count * denseWidth, "TabularData: dense has \(dense.count) values, expected \(count) x \(denseWidth)")
        if let bagOffsets {
            precondition(bagOffsets.count == count * fieldCount + 1, "TabularData: bagOffsets has \(bagOffsets.count) values, expected \(count) x \(fieldCount) + 1")
            precondition(bagOffsets.first == 0, "TabularData: bagOffsets must start at 0")
            precondition(bagOffsets.last.map(Int.init) == ids.count, "TabularData: bagOffsets ends at \(bagOffsets.last!), but ids has \(ids.count) values")
        } else {
            precondition(ids.count == count * fieldCount, "TabularData: ids has \(ids.count) values, expected \(count) x \(fieldCount)")
        }
        precondition(keys == nil || keys!.count == ids.count, "TabularData: keys has \(keys!.count) values, ids \(ids.count)")
        precondition(labels.count == count * taskNames.count, "TabularData: labels has \(labels.count) values, expected \(count) x \(taskNames.count)")
        self.count = count
        self.denseWidth = denseWidth
        self.dense = dense
        self.fieldCount = fieldCount
        self.ids = ids
        self.taskNames = taskNames
        self.labels = labels
        self.bagOffsets = bagOffsets
        self.keys = keys
    }

    /// T, the number of tasks.
    public var taskCount: Int { taskNames.count }

    /// The ids of (row, field), in either layout: one id without `bagOffsets`, the field's bag with.
    public func ids(row: Int, field: Int) -> ArraySlice<Int32> {
        precondition(row >= 0 && row < count && field >= 0 && field < fieldCount,
                     "TabularData: (row \(row), field \(field)) outside \(count) x \(fieldCount)")
        let i = row * fieldCount + field
        guard let bagOffsets else { return ids[i ... i] }
        return ids[Int(bagOffsets[i]) ..< Int(bagOffsets[i + 1])]
    }
}

/// The layout of the fused embedding table shared by all sparse fields: field `f` owns rows
/// `fieldOffsets[f] ..< fieldOffsets[f] + fieldRows[f]`, the last of which is the field's shared
/// row for values never seen in training.
public struct FeatureSchema: Sendable, Equatable {
    /// Names of the dense inputs, in column order.
    public let denseNames: [String]
    /// Names of the sparse fields, in table order.
    public let fieldNames: [String]
    /// First row of each field in the fused table.
    public let fieldOffsets: [Int]
    /// Rows of each field, including its unknown row.
    public let fieldRows: [Int]

    /// A schema whose fields are laid out back to back in the given order.
    public init(denseNames: [String], fieldNames: [String], fieldRows: [Int]) {
        precondition(fieldNames.count == fieldRows.count, "FeatureSchema: \(fieldNames.count) field names but \(fieldRows.count) row counts")
        self.denseNames = denseNames
        self.fieldNames = fieldNames
        self.fieldRows = fieldRows
        var offsets: [Int] = []
        var next = 0
        for r in fieldRows { offsets.append(next); next += r }
        fieldOffsets = offsets
    }

    /// V: rows of the fused table.
    public var totalRows: Int { fieldRows.reduce(0, +) }
    /// The fused-table row that values unseen in training map to, for field `f`.
    public func unknownRow(field f: Int) -> Int { fieldOffsets[f] + fieldRows[f] - 1 }
}
