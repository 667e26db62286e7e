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

    public init(size: Int, dense: Tensor, ids: [Int32], bagOffsets: [Int32]? = nil, labels: Tensor) {
        self.size = size
        self.dense = dense
        self.ids = ids
        self.bagOffsets = bagOffsets
        self.labels = labels
    }

    /// Sparse fields per row.
    var fieldCount: Int { bagOffsets.map { ($0.count - 1) / max(size, 1) } ?? ids.count / max(size, 1) }

    /// Rows `range` of this batch: the dense rows as a view, ids and labels copied.
    public func rows(_ range: Range<Int>) -> Batch {
        precondition(range.lowerBound >= 0 && range.upperBound <= size, "Batch.rows: \(range) is outside 0..<\(size)")
        let f = fieldCount
        guard let offsets = bagOffsets else {
            return Batch(size: range.count, dense: dense.slice(0, range), ids: Array(ids[(range.lowerBound * f)..<(range.upperBound * f)]),
                         labels: labels.slice(1, range).contiguous())
        }
        let lo = offsets[range.lowerBound * f], hi = offsets[range.upperBound * f]
        return Batch(size: range.count, dense: dense.slice(0, range), ids: Array(ids[Int(lo)..<Int(hi)]),
                     bagOffsets: offsets[(range.lowerBound * f)...(range.upperBound * f)].map { $0 - lo },
                     labels: labels.slice(1, range).contiguous())
    }

    /// Gathers `rows` of `data` (in that order) into a batch.
    public init(_ data: TabularData, rows: some Collection<Int>) {
        let g = data.gathering(rows)
        let b = g.count, t = g.taskCount
        // Labels go task-major, so each task's labels are one contiguous row.
        var labels = [Float](repeating: 0, count: t * b)
        for i in 0..<b { for task in 0..<t { labels[task * b + i] = g.labels[i * t + task] } }
        self.init(size: b, dense: Tensor(shape: [b, g.denseWidth], scalars: g.dense), ids: g.ids, bagOffsets: g.bagOffsets,
                  labels: Tensor(shape: [t, b], scalars: labels))
    }
}
