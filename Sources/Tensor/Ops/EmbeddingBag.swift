/// How an embedding bag folds its rows into one vector: `sum` adds them, `mean` adds them and
/// divides by their count. Either way an empty bag is a zero vector and a bag of one id is its row.
public enum EmbeddingCombiner: String, Sendable, Codable, CaseIterable {
    case sum, mean
}

extension Tape {
    /// Looks up bags of rows and combines each bag: bag `i` is `ids[offsets[i]..<offsets[i+1]]`
    /// (`offsets` has one more entry than there are bags). An empty bag gives a zero vector.
    /// Returns `[bags, D]`. Backward adds each bag's gradient to exactly the rows it used.
    public func embeddingBag(_ table: EmbeddingTable, ids: [Int32], offsets: [Int32],
                             combiner: EmbeddingCombiner = .sum) -> Variable {
        embeddingBag(table, ids: ids, offsets: offsets, combiners: [combiner])
    }

    /// `embeddingBag` with a combiner per field: bag `i` is combined by `combiners[i % F]`
    /// (`F = combiners.count`), so the bags of `B` rows of `F` fields each, laid out row-major
    /// (`[B * F]` bags), are each pooled as their own field asks (a sum-combined tag list beside
    /// mean-combined ones in one fused lookup). Returns `[bags, D]`.
    public func embeddingBag(_ table: EmbeddingTable, ids: [Int32], offsets: [Int32],
                             combiners: [EmbeddingCombiner]) -> Variable {
        precondition(!offsets.isEmpty && offsets.first == 0 && Int(offsets.last!) == ids.count,
                     "embeddingBag(\(table.name)): offsets must start at 0 and end at ids.count (\(ids.count))")
        precondition(combiners.isEmpty ? offsets.count == 1 : (offsets.count - 1) % combiners.count == 0,
                     "embeddingBag(\(table.name)): \(offsets.count - 1) bags are not rows of \(combiners.count) fields")
        let bags = offsets.count - 1
        let d = table.dim
        let mean = combiners.map { $0 == .mean }
        let out = timed("embedding_bag") {
            let out = Tensor(shape: [bags, d], repeating: 0)
            Kernels.embeddingBag(table, ids: ids, offsets: offsets, mean: mean, into: out)
            return out
        }
        return recordLeafOp(out, name: "embedding_bag") {
            EmbeddingBagBackward(table: table, ids: ids, offsets: offsets, mean: mean)
        }
    }
}

extension Kernels {
    /// Sums each bag's rows of `table` into row `bag` of `out` `[bags, D]` (zeroed): rows added in
    /// bag order, 16 (then 4) lanes at a time, then, when `mean[bag % mean.count]`, scaled by 1/size.
    static func embeddingBag(_ table: EmbeddingTable, ids: [Int32], offsets: [Int32], mean: [Bool], into out: Tensor) {
        let bags = offsets.count - 1
        let d = table.dim, v = table.rows
        let po = out.storage.base, pt = UnsafePointer(table.value.storage.base + table.value.offset)
        ids.withUnsafeBufferPointer { ids in
            offsets.withUnsafeBufferPointer { offsets in
                var field = 0
                for bag in 0..<bags {
                    let isMean = mean[field]
                    field = field + 1 == mean.count ? 0 : field + 1
                    let lo = Int(offsets[bag]), hi = Int(offsets[bag + 1])
                    precondition(lo <= hi, "embeddingBag(\(table.name)): offsets decrease at bag \(bag)")
                    let dst = po + bag * d
                    for k in lo..<hi {
                        let row = Int(ids[k])
                        precondition(row >= 0 && row < v, "embeddingBag(\(table.name)): id \(row) out of range 0..<\(v)")
                        addRow(dst, pt + row * d, scale: 1, d)
                    }
                    if isMean && hi - lo > 1 { scaleRow(dst, 1 / Float(hi - lo), d) }
                }
            }
        }
    }

    /// dst[j] += src[j] (scale 1), else dst[j] += scale · src[j], for j in 0..<d, 16 then 4 lanes
    /// at a time: each element's arithmetic is the scalar loop's.
    @inline(__always)
    static func addRow(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, scale: Float, _ d: Int) {
        var j = 0
        if scale == 1 {
            while j + 16 <= d { store16(load16(dst + j) + load16(src + j), dst + j); j += 16 }
            while j + 4 <= d { store4(load4(dst + j) + load4(src + j), dst + j); j += 4 }
            while j < d { dst[j] += src[j]; j += 1 }
        } else {
            let s16 = SIMD16<Float>(repeating: scale), s4 = SIMD4<Float>(repeating: scale)
            while j + 16 <= d { store16(load16(dst + j) + s16 * load16(src + j), dst + j); j += 16 }
            while j + 4 <= d { store4(load4(dst + j) + s4 * load4(src + j), dst + j); j += 4 }
            while j < d { dst[j] += scale * src[j]; j += 1 }
        }
    }

    /// dst[j] *= factor for j in 0..<d.
    @inline(__always)
    static func scaleRow(_ dst: UnsafeMutablePointer<Float>, _ factor: Float, _ d: Int) {
        var j = 0
        while j + 16 <= d { store16(load16(dst + j) * factor, dst + j); j += 16 }
        while j < d { dst[j] *= factor; j += 1 }
    }
}

/// d table[ids[k]] += scale · d out[bag] for each id k of each bag, scale 1 (sum) or 1/size (mean).
struct EmbeddingBagBackward: BackwardOp {
    let table: EmbeddingTable, ids: [Int32], offsets: [Int32], mean: [Bool]
    func backward(_ grad: Tensor, _ tape: Tape) {
        let g = grad.contiguous()
        g.withUnsafeBufferPointer { pg in
            table.accumulateBags(pg.baseAddress!, ids: ids, offsets: offsets, mean: mean)
        }
    }
}
