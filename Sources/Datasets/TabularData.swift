/// Rows ready for training, in flat row-major arrays: dense features, one id per sparse field, and
/// one label per task. Readers (Census, synthetic, ...) produce it; the trainer cuts batches from it.
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
    public var ids: [Int32]
    /// Task names T, in label order (for Census: `income`, `marital`).
    public let taskNames: [String]
    /// `[N, T]`, 0 or 1 for binary tasks.
    public var labels: [Float]

    public init(count: Int, denseWidth: Int, dense: [Float], fieldCount: Int, ids: [Int32],
                taskNames: [String], labels: [Float]) {
        precondition(dense.count == count * denseWidth, "TabularData: dense has \(dense.count) values, expected \(count) x \(denseWidth)")
        precondition(ids.count == count * fieldCount, "TabularData: ids has \(ids.count) values, expected \(count) x \(fieldCount)")
        precondition(labels.count == count * taskNames.count, "TabularData: labels has \(labels.count) values, expected \(count) x \(taskNames.count)")
        self.count = count
        self.denseWidth = denseWidth
        self.dense = dense
        self.fieldCount = fieldCount
        self.ids = ids
        self.taskNames = taskNames
        self.labels = labels
    }

    public var taskCount: Int { taskNames.count }
}

/// The layout of the fused embedding table shared by all sparse fields: field `f` owns rows
/// `fieldOffsets[f] ..< fieldOffsets[f] + fieldRows[f]`, the last of which is the field's shared
/// row for values never seen in training.
public struct FeatureSchema: Sendable, Equatable {
    public let denseNames: [String]
    public let fieldNames: [String]
    /// First row of each field in the fused table.
    public let fieldOffsets: [Int]
    /// Rows of each field, including its unknown row.
    public let fieldRows: [Int]

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
