extension Kernels {
    /// One Adagrad step (TensorFlow's `ApplyAdagrad`, no epsilon) over whole contiguous buffers of
    /// one size: acc += g², p -= lr · g / sqrt(acc).
    public static func adagradUpdate(values: Tensor, grads: Tensor, accumulator: Tensor, learningRate lr: Float,
                                     shards: ShardGradients? = nil) {
        let n = values.count
        checkDense("adagradUpdate", n, values, grads, accumulator)
        struct Row: DenseOptimizerRow {
            let p: UnsafeMutablePointer<Float>, acc: UnsafeMutablePointer<Float>, lr: Float
            @inline(__always) func update<G: GradientSource>(_ lo: Int, _ count: Int, _ g: G) {
                Kernels.adagradRow(p + lo, g, acc + lo, count, lr)
            }
        }
        denseChunks(grads, shards: shards, Row(p: values.storage.base + values.offset,
                                               acc: accumulator.storage.base + accumulator.offset, lr: lr))
    }

    /// One Adagrad step for the rows of `table` that have a gradient; `accumulator` is `[V, D]`,
    /// aligned with the table. Untouched rows (values and accumulators) stay as they are.
    public static func adagradUpdateTouchedRows(_ table: EmbeddingTable, accumulator: Tensor, learningRate lr: Float) {
        checkRows("adagradUpdateTouchedRows", table, accumulator)
        let d = table.dim
        let p = table.value.storage.base + table.value.offset, acc = accumulator.storage.base + accumulator.offset
        forEachTouchedRow(table) { row, g in adagradRow(p + row * d, GradientBuffer(g: g), acc + row * d, d, lr) }
    }

    @inline(__always)
    static func adagradRow<G: GradientSource>(_ p: UnsafeMutablePointer<Float>, _ g: G, _ acc: UnsafeMutablePointer<Float>,
                                              _ n: Int, _ lr: Float) {
        var i = 0
        while i + 16 <= n {
            let gi = g.vector(i)
            let ai = load16(acc + i) + gi * gi
            store16(ai, acc + i)
            store16(load16(p + i) - lr * gi / sqrt16(ai), p + i)
            i += 16
        }
        while i < n {
            let gi = g.scalar(i)
            let ai = acc[i] + gi * gi
            acc[i] = ai
            p[i] -= lr * gi / ai.squareRoot()
            i += 1
        }
    }
}
