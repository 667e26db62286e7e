/// The scalars of one Adam step, with the bias corrections folded in:
/// p -= lrCorrected · m / (sqrt(v · vCorrection) + ε), where lrCorrected = lr / (1 - β1^t) and
/// vCorrection = 1 / (1 - β2^t).
public struct AdamStep: Sendable {
    public let lrCorrected: Float, vCorrection: Float, beta1: Float, beta2: Float, epsilon: Float
    public init(lrCorrected: Float, vCorrection: Float, beta1: Float, beta2: Float, epsilon: Float) {
        self.lrCorrected = lrCorrected
        self.vCorrection = vCorrection
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }
}

extension Kernels {
    /// One Adam step over whole contiguous buffers of equal size: values, gradients, moments.
    public static func adamUpdate(values: Tensor, grads: Tensor, m: Tensor, v: Tensor, _ s: AdamStep,
                                  shards: ShardGradients? = nil) {
        let n = values.count
        precondition(values.isContiguous && grads.isContiguous && m.isContiguous && v.isContiguous
                     && grads.count == n && m.count == n && v.count == n,
                     "adamUpdate: values, gradients and moments must be contiguous and of one size")
        struct Row: DenseOptimizerRow {
            let p: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, s: AdamStep
            @inline(__always) func update<G: GradientSource>(_ lo: Int, _ count: Int, _ g: G) {
                Kernels.adamRow(p + lo, g, m + lo, v + lo, count, s)
            }
        }
        // Disjoint chunks per thread; each element's arithmetic is the same whatever the split.
        denseChunks(grads, shards: shards, Row(p: values.storage.base + values.offset, m: m.storage.base + m.offset,
                                               v: v.storage.base + v.offset, s: s))
    }

    /// One lazy Adam step for the rows of `table` that have a gradient; `m` and `v` are `[V, D]`
    /// moments aligned with the table. Untouched rows (values and moments) stay as they are.
    public static func adamUpdateTouchedRows(_ table: EmbeddingTable, m: Tensor, v: Tensor, _ s: AdamStep) {
        let d = table.dim
        precondition(m.isContiguous && v.isContiguous && m.count == table.rows * d && v.count == m.count,
                     "adamUpdateTouchedRows(\(table.name)): moments must be contiguous [\(table.rows), \(d)]")
        let p = table.value.storage.base + table.value.offset
        let pm = m.storage.base + m.offset, pv = v.storage.base + v.offset
        forEachTouchedRow(table) { row, g in adamRow(p + row * d, GradientBuffer(g: g), pm + row * d, pv + row * d, d, s) }
    }

    /// The update of n consecutive elements, 16 lanes at a time (the pointers never alias, which
    /// the compiler cannot prove, so the loop is vectorised by hand).
    @inline(__always)
    static func adamRow<G: GradientSource>(_ p: UnsafeMutablePointer<Float>, _ g: G, _ m: UnsafeMutablePointer<Float>,
                                           _ v: UnsafeMutablePointer<Float>, _ n: Int, _ s: AdamStep) {
        let (b1, b2, eps, lr, vc) = (s.beta1, s.beta2, s.epsilon, s.lrCorrected, s.vCorrection)
        var i = 0
        while i + 16 <= n {
            let gi = g.vector(i)
            let mi = b1 * load16(m + i) + (1 - b1) * gi
            let vi = b2 * load16(v + i) + (1 - b2) * gi * gi
            store16(mi, m + i)
            store16(vi, v + i)
            store16(load16(p + i) - lr * mi / (sqrt16(vi * vc) + eps), p + i)
            i += 16
        }
        while i < n {
            let gi = g.scalar(i)
            let mi = b1 * m[i] + (1 - b1) * gi
            let vi = b2 * v[i] + (1 - b2) * gi * gi
            m[i] = mi
            v[i] = vi
            p[i] -= lr * mi / ((vi * vc).squareRoot() + eps)
            i += 1
        }
    }
}
