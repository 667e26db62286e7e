extension Kernels {
    /// One AdamAsync step (DeepRec's `ApplyAdamAsync`, TensorFlow's form of Adam) over whole
    /// contiguous buffers of one size: m = β1·m + (1-β1)·g, v = β2·v + (1-β2)·g²,
    /// p -= alpha · m / (sqrt(v) + ε), where the caller folds the bias correction into
    /// alpha = lr · sqrt(1 - β2^t) / (1 - β1^t).
    ///
    /// NOTE: this is `adamRow` with the second-moment correction set to 1: PyTorch's form only
    /// differs in where the correction sits, so one loop serves both.
    public static func adamAsyncUpdate(values: Tensor, grads: Tensor, m: Tensor, v: Tensor,
                                       alpha: Float, beta1: Float, beta2: Float, epsilon: Float, shards: ShardGradients? = nil) {
        adamUpdate(values: values, grads: grads, m: m, v: v,
                   AdamStep(lrCorrected: alpha, vCorrection: 1, beta1: beta1, beta2: beta2, epsilon: epsilon), shards: shards)
    }

    /// One lazy AdamAsync step for the rows of `table` that have a gradient (DeepRec's
    /// `SparseApplyAdamAsync`); `m` and `v` are `[V, D]`. Untouched rows and their moments stay as
    /// they are.
    public static func adamAsyncUpdateTouchedRows(_ table: EmbeddingTable, m: Tensor, v: Tensor,
                                                  alpha: Float, beta1: Float, beta2: Float, epsilon: Float) {
        adamUpdateTouchedRows(table, m: m, v: v,
                              AdamStep(lrCorrected: alpha, vCorrection: 1, beta1: beta1, beta2: beta2, epsilon: epsilon))
    }
}
