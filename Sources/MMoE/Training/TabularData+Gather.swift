import Datasets

extension TabularData {
    /// Rows `rows` of this data (in that order) as new data.
    func gathering(_ rows: some Collection<Int>) -> TabularData {
        let dd = denseWidth, f = fieldCount, t = taskCount
        var dense: [Float] = [], ids: [Int32] = [], labels: [Float] = []
        var offsets: [Int32]? = bagOffsets == nil ? nil : [0]
        var gatheredKeys: [UInt64]? = keys == nil ? nil : []
        gatheredKeys?.reserveCapacity(rows.count * f)
        dense.reserveCapacity(rows.count * dd)
        ids.reserveCapacity(rows.count * f)
        labels.reserveCapacity(rows.count * t)
        offsets?.reserveCapacity(rows.count * f + 1)
        for r in rows {
            dense += self.dense[(r * dd)..<((r + 1) * dd)]
            labels += self.labels[(r * t)..<((r + 1) * t)]
            if let source = bagOffsets {
                let lo = Int(source[r * f]), hi = Int(source[(r + 1) * f])
                let base = Int32(ids.count) - Int32(lo)
                ids += self.ids[lo..<hi]
                for field in 0..<f { offsets!.append(source[r * f + field + 1] + base) }
                if let keys { gatheredKeys! += keys[lo..<hi] }
            } else {
                ids += self.ids[(r * f)..<((r + 1) * f)]
                if let keys { gatheredKeys! += keys[(r * f)..<((r + 1) * f)] }
            }
        }
        return TabularData(count: rows.count, denseWidth: dd, dense: dense, fieldCount: f, ids: ids, taskNames: taskNames, labels: labels,
                           bagOffsets: offsets, keys: gatheredKeys)
    }
}
