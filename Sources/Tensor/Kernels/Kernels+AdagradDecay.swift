/// The accumulator decay of one AdagradDecay step: acc = max(acc · rate, floor).
public struct AccumulatorDecay: Sendable {
    public let rate: Float, floor: Float
    public init(rate: Float, floor: Float) {
        self.rate = rate
        self.floor = floor
    }
}

extension Kernels {
    /// One AdagradDecay step (DeepRec's `ApplyAdagradDecay`) over whole contiguous buffers of one
    /// size: when `decay` is given, acc = max(acc · rate, floor) first; then acc += g²,
    /// p -= lr · g / sqrt(acc). Whether this step decays is the caller's decision.
    public static func adagradDecayUpdate(values: Tensor, grads: Tensor, accumulator: Tensor, learningRate lr: Float,
                                          decay: AccumulatorDecay?, shards: ShardGradients? = nil) {
        guard let decay else {
            adagradUpdate(values: values, grads: grads, accumulator: accumulator, learningRate: lr, shards: shards)
            return
        }
        let n = values.count
        checkDense("adagradDecayUpdate", n, values, grads, accumulator)
        struct Row: DenseOptimizerRow {
            let p: UnsafeMutablePointer<Float>, acc: UnsafeMutablePointer<Float>, lr: Float, decay: AccumulatorDecay
            @inline(__always) func update<G: GradientSource>(_ lo: Int, _ count: Int, _ g: G) {
                Kernels.adagradDecayRow(p + lo, g, acc + lo, count, lr, decay)
            }
        }
        denseChunks(grads, shards: shards, Row(p: values.storage.base + values.offset,
                                               acc: accumulator.storage.base + accumulator.offset, lr: lr, decay: decay))
    }

    /// One AdagradDecay step for the rows of `table` that have a gradient (DeepRec's
    /// `SparseApplyAdagradDecay`). `accumulator` is `[V, D]`; `decayPower` is `[V]`, the decays each
    /// row has had. A touched row whose power is below `periods` (global step / decay step) decays
    /// once, acc = max(acc · rate, floor), and its power goes up by one, before acc += g²,
    /// p -= lr · g / sqrt(acc). Untouched rows (values, accumulators, powers) stay as they are.
    public static func adagradDecayUpdateTouchedRows(_ table: EmbeddingTable, accumulator: Tensor, decayPower: Tensor,
                                                     periods: Int, learningRate lr: Float, decay: AccumulatorDecay) {
        checkRows("adagradDecayUpdateTouchedRows", table, accumulator)
        precondition(decayPower.isContiguous && decayPower.count == table.rows,
                     "adagradDecayUpdateTouchedRows(\(table.name)): decay powers must be contiguous [\(table.rows)]")
        let d = table.dim
        let p = table.value.storage.base + table.value.offset, acc = accumulator.storage.base + accumulator.offset
        let power = decayPower.storage.base + decayPower.offset
        forEachTouchedRow(table) { row, g in
            let r = row * d
            if Int(power[row]) < periods {
                power[row] += 1
                adagradDecayRow(p + r, GradientBuffer(g: g), acc + r, d, lr, decay)
            } else {
                adagradRow(p + r, GradientBuffer(g: g), acc + r, d, lr)
            }
        }
    }

    /// Decay, accumulate and update n consecutive elements.
    /// NOTE: the floor is a masked replace, not `pointwiseMax`, which compiled to scalar code here
    /// (1000 decaying updates of 208k parameters: 237 ms with it, 41 ms without).
    @inline(__always)
    static func adagradDecayRow<G: GradientSource>(_ p: UnsafeMutablePointer<Float>, _ g: G, _ acc: UnsafeMutablePointer<Float>,
                                                   _ n: Int, _ lr: Float, _ decay: AccumulatorDecay) {
        let (rate, floor) = (decay.rate, decay.floor)
        let floor16 = SIMD16<Float>(repeating: floor)
        var i = 0
        while i + 16 <= n {
            let gi = g.vector(i)
            let di = load16(acc + i) * rate
            let ai = di.replacing(with: floor16, where: di .< floor16) + gi * gi
            store16(ai, acc + i)
            store16(load16(p + i) - lr * gi / sqrt16(ai), p + i)
            i += 16
        }
        while i < n {
            let gi = g.scalar(i)
            let ai = max(acc[i] * rate, floor) + gi * gi
            acc[i] = ai
            p[i] -= lr * gi / ai.squareRoot()
            i += 1
        }
    }
}
