import Foundation
import Tensor

/// Adam (Kingma & Ba) in PyTorch's form: m = β1·m + (1-β1)·g, v = β2·v + (1-β2)·g²,
/// p -= lr · (m / (1-β1^t)) / (sqrt(v / (1-β2^t)) + ε).
///
/// Dense parameters are updated every step in one pass over the flat buffers. Embedding rows are
/// updated lazily, only when a batch touched them, as OneFlow's OneEmbedding and TensorFlow's
/// LazyAdam do: a row's moments do not decay while the row is unused, and a step costs the rows a
/// batch read, not the table size. Both use the global step for the bias correction.
public final class Adam: Optimizer {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float
    /// Updates applied so far.
    public private(set) var step = 0

    /// First and second moments of the dense parameters (`[P]`, aligned with `ParameterStore.values`)
    /// and of the embedding table (`[V, D]`).
    public let m: Tensor, v: Tensor
    public let embeddingM: Tensor?, embeddingV: Tensor?

    public init(for model: MMoEModel, learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        precondition(learningRate > 0, "Adam: learning rate must be positive, got \(learningRate)")
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        m = Tensor(shape: [model.parameters.count])
        v = Tensor(shape: [model.parameters.count])
        embeddingM = model.embedding.map { Tensor(shape: $0.value.shape) }
        embeddingV = model.embedding.map { Tensor(shape: $0.value.shape) }
    }

    /// Applies one update from the gradients held by `model` (the caller zeroes them afterwards).
    public func update(_ model: MMoEModel, dense: Range<Int>, shards: ShardGradients?) {
        step += 1
        let s = stepScalars()
        let (values, grads) = model.dense(dense)
        Kernels.adamUpdate(values: values, grads: grads, m: m.slice(0, dense), v: v.slice(0, dense), s, shards: shards)
        if let table = model.embedding, let em = embeddingM, let ev = embeddingV {
            Kernels.adamUpdateTouchedRows(table, m: em, v: ev, s)
        }
    }
}

extension Adam {
    /// The scalars of the update at the current `step`, bias corrections folded in; shared with
    /// the rows of an embedding store, so they update exactly as the model's table does.
    func stepScalars() -> AdamStep {
        let t = Float(step)
        return AdamStep(lrCorrected: learningRate / (1 - pow(beta1, t)), vCorrection: 1 / (1 - pow(beta2, t)),
                        beta1: beta1, beta2: beta2, epsilon: epsilon)
    }

    public func stateTensors() -> [(name: String, tensor: Tensor)] {
        var state: [(name: String, tensor: Tensor)] = [("adam.m", m), ("adam.v", v)]
        if let em = embeddingM, let ev = embeddingV { state += [("adam.embedding.m", em), ("adam.embedding.v", ev)] }
        return state
    }

    public func restore(step: Int, tensors: [String: Tensor]) throws {
        try checkState(step: step, tensors)
        for (name, tensor) in stateTensors() { tensor.assign(tensors[name]!) }
        self.step = step
    }
}
