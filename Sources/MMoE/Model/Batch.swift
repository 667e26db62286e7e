import Tensor
import Datasets

/// One mini-batch in the layout the model reads.
public struct Batch: @unchecked Sendable {
    /// B: rows.
    public let size: Int
    /// `[B, Dd]`
    public let dense: Tensor
    /// Fused-table rows, row-major by example: `[B * F]`, one per field, when `bagOffsets` is nil.
    public let ids: [Int32]
    /// nil: one id per (row, field). Otherwise `[B * F + 1]`: the ids of (row r, field f) are
    /// `ids[bagOffsets[r * F + f] ..< bagOffsets[r * F + f + 1]]` (multi-valued fields, tag lists).
    public let bagOffsets: [Int32]?
    /// `[T, B]`: task-major, so each task's labels are one contiguous row.
    public let labels: Tensor
    /// nil, or parallel to `ids`: each id's raw 64-bit key (`TabularData.keys`), which a dynamic
    /// embedding store looks rows up by.
    public let keys: [UInt64]?
    /// nil, or parallel to `ids`: a second table row per id, multiplied elementwise with the first
    /// (the quotient-remainder compositional embedding, `--multihash`). Set by an embedding store.
    public let pairedIds: [Int32]?

    public init(size: Int, dense: Tensor, ids: [Int32], bagOffsets: [Int32]? = nil, labels: Tensor,
                keys: [UInt64]? = nil, pairedIds: [Int32]? = nil) {
        precondition(keys == nil || keys!.count == ids.count, "Batch: \(keys!.count) keys for \(ids.count) ids")
        precondition(pairedIds == nil || pairedIds!.count == ids.count, "Batch: \(pairedIds!.count) paired ids for \(ids.count) ids")
        self.size = size
        self.dense = dense
        self.ids = ids
        self.bagOffsets = bagOffsets
        self.labels = labels
        self.keys = keys
        self.pairedIds = pairedIds
    }

    /// Sparse fields per row.
    var fieldCount: Int { bagOffsets.map { ($0.count - 1) / max(size, 1) } ?? ids.count / max(size, 1) }

    /// Rows `range` of this batch: the dense rows as a view, ids and labels copied.
    public func rows(_ range: Range<Int>) -> Batch {
        precondition(range.lowerBound >= 0 && range.upperBound <= size, "Batch.rows: \(range) is outside 0..<\(size)")
        let f = fieldCount
        guard let offsets = bagOffsets else {
            let idRange = (range.lowerBound * f)..<(range.upperBound * f)
            return Batch(size: range.count, dense: dense.slice(0, range), ids: Array(ids[idRange]),
                         labels: labels.slice(1, range).contiguous(), keys: keys.map { Array($0[idRange]) },
                         pairedIds: pairedIds.map { Array($0[idRange]) })
        }
        let lo = offsets[range.lowerBound * f], hi = offsets[range.upperBound * f]
        let idRange = Int(lo)..<Int(hi)
        return Batch(size: range.count, dense: dense.slice(0, range), ids: Array(ids[idRange]),
                     bagOffsets: offsets[(range.lowerBound * f)...(range.upperBound * f)].map { $0 - lo },
                     labels: labels.slice(1, range).contiguous(), keys: keys.map { Array($0[idRange]) },
                     pairedIds: pairedIds.map { Array($0[idRange]) })
    }

    /// Gathers `rows` of `data` (in that order) into a batch.
    public init(_ data: TabularData, rows: some Collection<Int>) {
        let g = data.gathering(rows)
        let b = g.count, t = g.taskCount
        // Labels go task-major, so each task's labels are one contiguous row.
        var labels = [Float](repeating: 0, count: t * b)
        for i in 0..<b { for task in 0..<t { labels[task * b + i] = g.labels[i * t + task] } }
        self.init(size: b, dense: Tensor(shape: [b, g.denseWidth], scalars: g.dense), ids: g.ids, bagOffsets: g.bagOffsets,
                  labels: Tensor(shape: [t, b], scalars: labels), keys: g.keys)
    }
}
