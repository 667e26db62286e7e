import Foundation
import Tensor

/// DeepRec's `AdamAsyncOptimizer` (β1 0.9, β2 0.999, ε 1e-8): Adam in TensorFlow's form, with the
/// bias correction carried by beta powers kept as state.
///
/// What is implemented, from DeepRec's `adam_async.py` and its `ApplyAdamAsync` /
/// `SparseApplyAdamAsync` kernels (`apply_sparse_rmsprop` off, its default): the powers start at
/// β1 and β2; one update computes, with the powers as they are,
///
///     alpha = lr · sqrt(1 - β2power) / (1 - β1power)
///     m = β1·m + (1-β1)·g,  v = β2·v + (1-β2)·g²
///     p -= alpha · m / (sqrt(v) + ε)
///
/// and then multiplies the powers by β1 and β2 (so at the t-th update they are β1^t, β2^t, in Float).
///
/// Differences from `Adam` (PyTorch's form, p -= lr/(1-β1^t) · m / (sqrt(v/(1-β2^t)) + ε)): ε is
/// added to the uncorrected sqrt(v), i.e. it acts as ε·sqrt(1-β2^t) would in `Adam` and matters
/// more in early steps; and the powers belong to each variable, not to the global step. DeepRec
/// keeps a pair per variable; here the dense parameters share one pair (all are updated every
/// step) and the embedding table has its own, advanced only by updates in which some row had a
/// gradient (DeepRec's sparse kernel returns before touching the powers when there are no
/// indices). Embedding rows are updated lazily, only when touched, like `Adam` (and unlike the
/// TensorFlow docstring DeepRec copied, which describes Adam's dense-momentum sparse update).
public final class AdamAsync: Optimizer {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float
    public private(set) var step = 0

    /// First and second moments of the dense parameters (`[P]`) and of the embedding table (`[V, D]`).
    public let m: Tensor, v: Tensor
    public let embeddingM: Tensor?, embeddingV: Tensor?
    /// β1^t and β2^t for the next dense update (t counted from 1).
    public private(set) var betaPowers: (beta1: Float, beta2: Float)
    /// The same for the embedding table, counting only updates that touched some row.
    public private(set) var embeddingBetaPowers: (beta1: Float, beta2: Float)

    public init(for model: MMoEModel, learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        precondition(learningRate > 0, "AdamAsync: learning rate must be positive, got \(learningRate)")
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        m = Tensor(shape: [model.parameters.count])
        v = Tensor(shape: [model.parameters.count])
        embeddingM = model.embedding.map { Tensor(shape: $0.value.shape) }
        embeddingV = model.embedding.map { Tensor(shape: $0.value.shape) }
        betaPowers = (beta1, beta2)
        embeddingBetaPowers = (beta1, beta2)
    }

    /// lr · sqrt(1 - β2power) / (1 - β1power), in Float as DeepRec's kernel computes it; an
    /// embedding store's rows use it with the store's own powers.
    func alpha(_ powers: (beta1: Float, beta2: Float)) -> Float {
        learningRate * (1 - powers.beta2).squareRoot() / (1 - powers.beta1)
    }

    public func update(_ model: MMoEModel, dense: Range<Int>, shards: ShardGradients?) {
        step += 1
        let (values, grads) = model.dense(dense)
        Kernels.adamAsyncUpdate(values: values, grads: grads, m: m.slice(0, dense), v: v.slice(0, dense),
                                alpha: alpha(betaPowers), beta1: beta1, beta2: beta2, epsilon: epsilon, shards: shards)
        betaPowers = (betaPowers.beta1 * beta1, betaPowers.beta2 * beta2)
        if let table = model.embedding, let em = embeddingM, let ev = embeddingV, !table.touchedRows.isEmpty {
            Kernels.adamAsyncUpdateTouchedRows(table, m: em, v: ev, alpha: alpha(embeddingBetaPowers),
                                               beta1: beta1, beta2: beta2, epsilon: epsilon)
            embeddingBetaPowers = (embeddingBetaPowers.beta1 * beta1, embeddingBetaPowers.beta2 * beta2)
        }
    }

    public func stateTensors() -> [(name: String, tensor: Tensor)] {
        var state: [(name: String, tensor: Tensor)] = [
            ("adamasync.m", m), ("adamasync.v", v),
            ("adamasync.beta_powers", Tensor(shape: [2], scalars: [betaPowers.beta1, betaPowers.beta2])),
        ]
        if let em = embeddingM, let ev = embeddingV {
            state += [("adamasync.embedding.m", em), ("adamasync.embedding.v", ev),
                      ("adamasync.embedding.beta_powers",
                       Tensor(shape: [2], scalars: [embeddingBetaPowers.beta1, embeddingBetaPowers.beta2]))]
        }
        return state
    }

    public func restore(step: Int, tensors: [String: Tensor]) throws {
        try checkState(step: step, tensors)
        for (name, tensor) in stateTensors() where !name.hasSuffix("beta_powers") { tensor.assign(tensors[name]!) }
        let dense = tensors["adamasync.beta_powers"]!.scalars
        betaPowers = (dense[0], dense[1])
        if let sparse = tensors["adamasync.embedding.beta_powers"]?.scalars { embeddingBetaPowers = (sparse[0], sparse[1]) }
        self.step = step
    }
}
