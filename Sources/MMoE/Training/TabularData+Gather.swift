import Datasets

extension TabularData {
    /// Rows `rows` of this data (in that order) as new data.
    /// NOTE: every output array is sized first and filled through its buffer. Appending row
    /// slices (`+=`) cost a uniqueness check and a `memmove` call per row and column group: for
    /// a 256-row Census batch that was ~80 µs on the prefetch thread, which with both cores
    /// training came straight out of the step (the trainer waited for the batch).
    func gathering(_ rows: some Collection<Int>) -> TabularData {
        let dd = denseWidth, f = fieldCount, t = taskCount, n = rows.count
        let dense = gatherRuns(self.dense, rows, width: dd)
        let labels = gatherRuns(self.labels, rows, width: t)
        guard let source = bagOffsets else {
            return TabularData(count: n, denseWidth: dd, dense: dense, fieldCount: f, ids: gatherRuns(ids, rows, width: f),
                               taskNames: taskNames, labels: labels, keys: keys.map { gatherRuns($0, rows, width: f) })
        }
        // Bags: each row's ids are the run source[r*F] ..< source[(r+1)*F]; offsets are rebased.
        var total = 0
        for r in rows { total += Int(source[(r + 1) * f]) - Int(source[r * f]) }
        let offsets = [Int32](unsafeUninitializedCapacity: n * f + 1) { out, count in
            out[0] = 0
            var at = 0, base = 0
            source.withUnsafeBufferPointer { src in
                for r in rows {
                    let lo = Int(src[r * f])
                    for field in 0..<f { out[at + field + 1] = Int32(Int(src[r * f + field + 1]) - lo + base) }
                    base += Int(src[(r + 1) * f]) - lo
                    at += f
                }
            }
            count = n * f + 1
        }
        func gatherBags<T>(_ values: [T]) -> [T] {
            [T](unsafeUninitializedCapacity: total) { out, count in
                var at = 0
                values.withUnsafeBufferPointer { src in
                    for r in rows {
                        let lo = Int(source[r * f]), hi = Int(source[(r + 1) * f])
                        for i in lo..<hi { out.baseAddress!.advanced(by: at + i - lo).initialize(to: src[i]) }
                        at += hi - lo
                    }
                }
                count = total
            }
        }
        return TabularData(count: n, denseWidth: dd, dense: dense, fieldCount: f, ids: gatherBags(ids), taskNames: taskNames,
                           labels: labels, bagOffsets: offsets, keys: keys.map(gatherBags))
    }
}

/// Row r's run `values[r*width ..< (r+1)*width]` for each of `rows`, one after the other.
private func gatherRuns<T>(_ values: [T], _ rows: some Collection<Int>, width: Int) -> [T] {
    [T](unsafeUninitializedCapacity: rows.count * width) { out, count in
        values.withUnsafeBufferPointer { src in
            var at = 0
            for r in rows {
                precondition(r >= 0 && (r + 1) * width <= src.count, "gathering: row \(r) is outside the data")
                out.baseAddress!.advanced(by: at).initialize(from: src.baseAddress! + r * width, count: width)
                at += width
            }
        }
        count = rows.count * width
    }
}
