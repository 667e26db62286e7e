extension Kernels {
    /// One gradient-descent step over whole contiguous buffers of one size: p -= lr · g.
    public static func gradientDescentUpdate(values: Tensor, grads: Tensor, learningRate lr: Float, hooks: OptimizerChunkHooks? = nil) {
        let n = values.count
        checkDense("gradientDescentUpdate", n, values, grads)
        let p = values.storage.base + values.offset, g = UnsafePointer(grads.storage.base + grads.offset)
        optimizerChunks(n, hooks: hooks) { lo, len in gradientDescentRow(p + lo, g + lo, len, lr) }
    }

    /// One gradient-descent step for the rows of `table` that have a gradient; others stay as they are.
    public static func gradientDescentUpdateTouchedRows(_ table: EmbeddingTable, learningRate lr: Float) {
        let d = table.dim
        let p = table.value.storage.base + table.value.offset
        forEachTouchedRow(table) { row, g in gradientDescentRow(p + row * d, g, d, lr) }
    }

    @inline(__always)
    static func gradientDescentRow(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ n: Int, _ lr: Float) {
        var i = 0
        while i + 16 <= n {
            store16(load16(p + i) - lr * load16(g + i), p + i)
            i += 16
        }
        while i < n {
            p[i] -= lr * g[i]
            i += 1
        }
    }
}
