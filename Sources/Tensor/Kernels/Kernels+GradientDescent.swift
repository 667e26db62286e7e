extension Kernels {
    /// One gradient-descent step over whole contiguous buffers of one size: p -= lr · g.
    public static func gradientDescentUpdate(values: Tensor, grads: Tensor, learningRate lr: Float, shards: ShardGradients? = nil) {
        let n = values.count
        checkDense("gradientDescentUpdate", n, values, grads)
        struct Row: DenseOptimizerRow {
            let p: UnsafeMutablePointer<Float>, lr: Float
            @inline(__always) func update<G: GradientSource>(_ lo: Int, _ count: Int, _ g: G) {
                Kernels.gradientDescentRow(p + lo, g, count, lr)
            }
        }
        denseChunks(grads, shards: shards, Row(p: values.storage.base + values.offset, lr: lr))
    }

    /// One gradient-descent step for the rows of `table` that have a gradient; others stay as they are.
    public static func gradientDescentUpdateTouchedRows(_ table: EmbeddingTable, learningRate lr: Float) {
        let d = table.dim
        let p = table.value.storage.base + table.value.offset
        forEachTouchedRow(table) { row, g in gradientDescentRow(p + row * d, GradientBuffer(g: g), d, lr) }
    }

    @inline(__always)
    static func gradientDescentRow<G: GradientSource>(_ p: UnsafeMutablePointer<Float>, _ g: G, _ n: Int, _ lr: Float) {
        var i = 0
        while i + 16 <= n {
            store16(load16(p + i) - lr * g.vector(i), p + i)
            i += 16
        }
        while i < n {
            p[i] -= lr * g.scalar(i)
            i += 1
        }
    }
}
