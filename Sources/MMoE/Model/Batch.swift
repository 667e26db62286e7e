import Tensor
import Datasets

/// One mini-batch in the layout the model reads.
public struct Batch: @unchecked Sendable {
    /// B: rows.
    public let size: Int
    /// `[B, Dd]`
    public let dense: Tensor
    /// `[B * F]`: fused-table rows, row-major by example.
    public let ids: [Int32]
    /// `[T, B]`: task-major, so each task's labels are one contiguous row.
    public let labels: Tensor

    public init(size: Int, dense: Tensor, ids: [Int32], labels: Tensor) {
        self.size = size
        self.dense = dense
        self.ids = ids
        self.labels = labels
    }

    /// Rows `range` of this batch: the dense rows as a view, ids and labels copied.
    public func rows(_ range: Range<Int>) -> Batch {
        precondition(range.lowerBound >= 0 && range.upperBound <= size, "Batch.rows: \(range) is outside 0..<\(size)")
        let f = ids.count / max(size, 1)
        return Batch(size: range.count, dense: dense.slice(0, range), ids: Array(ids[(range.lowerBound * f)..<(range.upperBound * f)]),
                     labels: labels.slice(1, range).contiguous())
    }

    /// Gathers `rows` of `data` (in that order) into a batch.
    public init(_ data: TabularData, rows: some Collection<Int>) {
        let b = rows.count, dd = data.denseWidth, f = data.fieldCount, t = data.taskCount
        var dense = [Float](), ids = [Int32](), labels = [Float](repeating: 0, count: t * b)
        dense.reserveCapacity(b * dd)
        ids.reserveCapacity(b * f)
        for (i, r) in rows.enumerated() {
            dense.append(contentsOf: data.dense[(r * dd)..<((r + 1) * dd)])
            ids.append(contentsOf: data.ids[(r * f)..<((r + 1) * f)])
            for task in 0..<t { labels[task * b + i] = data.labels[r * t + task] }
        }
        self.init(size: b, dense: Tensor(shape: [b, dd], scalars: dense), ids: ids,
                  labels: Tensor(shape: [t, b], scalars: labels))
    }
}
