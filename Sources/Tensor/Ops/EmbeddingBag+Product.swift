extension Tape {
    /// The quotient-remainder compositional embedding (Shi et al. 2020) as an embedding bag: id `k`
    /// of bag `i` contributes `table[ids[k]] ⊙ table[pairedIds[k]]` (two rows of one table, one from
    /// each complementary partition), and the bag combines its contributions as `embeddingBag` does.
    /// Returns `[bags, D]`. Backward: d table[ids[k]] += scale · g ⊙ table[pairedIds[k]] and
    /// d table[pairedIds[k]] += scale · g ⊙ table[ids[k]], scale 1 (sum) or 1/size (mean).
    public func embeddingBagProduct(_ table: EmbeddingTable, ids: [Int32], pairedIds: [Int32], offsets: [Int32],
                                    combiner: EmbeddingCombiner = .sum) -> Variable {
        embeddingBagProduct(table, ids: ids, pairedIds: pairedIds, offsets: offsets, combiners: [combiner])
    }

    /// `embeddingBagProduct` with a combiner per field: bag `i` is combined by
    /// `combiners[i % combiners.count]`, as `embeddingBag(_:ids:offsets:combiners:)` does.
    public func embeddingBagProduct(_ table: EmbeddingTable, ids: [Int32], pairedIds: [Int32], offsets: [Int32],
                                    combiners: [EmbeddingCombiner]) -> Variable {
        precondition(!offsets.isEmpty && offsets.first == 0 && Int(offsets.last!) == ids.count,
                     "embeddingBagProduct(\(table.name)): offsets must start at 0 and end at ids.count (\(ids.count))")
        precondition(pairedIds.count == ids.count, "embeddingBagProduct(\(table.name)): \(pairedIds.count) paired ids for \(ids.count) ids")
        precondition(combiners.isEmpty ? offsets.count == 1 : (offsets.count - 1) % combiners.count == 0,
                     "embeddingBagProduct(\(table.name)): \(offsets.count - 1) bags are not rows of \(combiners.count) fields")
        let bags = offsets.count - 1
        let mean = combiners.map { $0 == .mean }
        let out = timed("embedding_bag_product") {
            let out = Tensor(shape: [bags, table.dim], repeating: 0)
            Kernels.embeddingBagProduct(table, ids: ids, pairedIds: pairedIds, offsets: offsets, mean: mean, into: out)
            return out
        }
        return recordLeafOp(out, name: "embedding_bag_product") {
            EmbeddingBagProductBackward(table: table, ids: ids, pairedIds: pairedIds, offsets: offsets, mean: mean)
        }
    }
}

extension Kernels {
    /// Sums each bag's row products into row `bag` of `out` `[bags, D]` (zeroed), then scales it by
    /// 1/size when `mean[bag % mean.count]`.
    static func embeddingBagProduct(_ table: EmbeddingTable, ids: [Int32], pairedIds: [Int32], offsets: [Int32], mean: [Bool],
                                    into out: Tensor) {
        let bags = offsets.count - 1
        let d = table.dim, v = table.rows
        let po = out.storage.base, pt = UnsafePointer(table.value.storage.base + table.value.offset)
        for bag in 0..<bags {
            let lo = Int(offsets[bag]), hi = Int(offsets[bag + 1])
            precondition(lo <= hi, "embeddingBagProduct(\(table.name)): offsets decrease at bag \(bag)")
            let dst = po + bag * d
            for k in lo..<hi {
                let a = Int(ids[k]), b = Int(pairedIds[k])
                precondition(a >= 0 && a < v && b >= 0 && b < v, "embeddingBagProduct(\(table.name)): ids \(a), \(b) out of range 0..<\(v)")
                let x = pt + a * d, y = pt + b * d
                for j in 0..<d { dst[j] += x[j] * y[j] }
            }
            if mean[bag % mean.count] && hi - lo > 1 {
                let inv = 1 / Float(hi - lo)
                for j in 0..<d { dst[j] *= inv }
            }
        }
    }
}

struct EmbeddingBagProductBackward: BackwardOp {
    let table: EmbeddingTable, ids: [Int32], pairedIds: [Int32], offsets: [Int32], mean: [Bool]
    func backward(_ grad: Tensor, _ tape: Tape) {
        let g = grad.contiguous()
        g.withUnsafeBufferPointer { pg in
            table.accumulateBagProducts(pg.baseAddress!, ids: ids, pairedIds: pairedIds, offsets: offsets, mean: mean)
        }
    }
}

extension EmbeddingTable {
    /// The backward of `embeddingBagProduct`: each id's two rows get the bag's gradient times the
    /// other row's values (read before any update, since the optimizer runs after backward).
    func accumulateBagProducts(_ grad: UnsafePointer<Float>, ids: [Int32], pairedIds: [Int32], offsets: [Int32], mean: [Bool]) {
        let d = dim
        let pt = UnsafePointer(value.storage.base + value.offset)
        var scaled = [Float](repeating: 0, count: d)
        for bag in 0..<(offsets.count - 1) {
            let lo = Int(offsets[bag]), hi = Int(offsets[bag + 1])
            let scale: Float = mean[bag % mean.count] && hi > lo ? 1 / Float(hi - lo) : 1
            let g = grad + bag * d
            for k in lo..<hi {
                let a = Int(ids[k]), b = Int(pairedIds[k])
                for j in 0..<d { scaled[j] = scale * g[j] * pt[b * d + j] }
                addToGradient(row: a, scaled)
                for j in 0..<d { scaled[j] = scale * g[j] * pt[a * d + j] }
                addToGradient(row: b, scaled)
            }
        }
    }
}
