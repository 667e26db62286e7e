import Tensor

/// Adagrad as TensorFlow's `AdagradOptimizer` (DeepRec's default, built by its `train.py` with
/// `initial_accumulator_value=0.1`): the accumulator starts at 0.1, then each step
/// acc += g², p -= lr · g / sqrt(acc). There is no epsilon: the initial value keeps sqrt(acc) > 0.
///
/// Embedding rows are updated lazily, only when a batch touched them (TensorFlow's sparse apply):
/// an untouched row's value and accumulator stay as they are, which is also what a dense update
/// with g = 0 would do.
public final class Adagrad: Optimizer {
    public var learningRate: Float
    public let initialAccumulator: Float
    public private(set) var step = 0

    /// The accumulators of the dense parameters (`[P]`, aligned with `ParameterStore.values`) and of
    /// the embedding table (`[V, D]`).
    public let accumulator: Tensor
    public let embeddingAccumulator: Tensor?

    public init(for model: MMoEModel, learningRate: Float, initialAccumulator: Float = 0.1) {
        precondition(learningRate > 0, "Adagrad: learning rate must be positive, got \(learningRate)")
        precondition(initialAccumulator > 0, "Adagrad: initial accumulator must be positive, got \(initialAccumulator)")
        self.learningRate = learningRate
        self.initialAccumulator = initialAccumulator
        accumulator = Tensor(shape: [model.parameters.count], repeating: initialAccumulator)
        embeddingAccumulator = model.embedding.map { Tensor(shape: $0.value.shape, repeating: initialAccumulator) }
    }

    public func update(_ model: MMoEModel, dense: Range<Int>, shards: ShardGradients?) {
        step += 1
        let (values, grads) = model.dense(dense)
        Kernels.adagradUpdate(values: values, grads: grads, accumulator: accumulator.slice(0, dense), learningRate: learningRate,
                              shards: shards)
        if let table = model.embedding, let acc = embeddingAccumulator {
            Kernels.adagradUpdateTouchedRows(table, accumulator: acc, learningRate: learningRate)
        }
    }

    public func stateTensors() -> [(name: String, tensor: Tensor)] {
        [("adagrad.accumulator", accumulator)] + (embeddingAccumulator.map { [("adagrad.embedding.accumulator", $0)] } ?? [])
    }

    public func restore(step: Int, tensors: [String: Tensor]) throws {
        try checkState(step: step, tensors)
        for (name, tensor) in stateTensors() { tensor.assign(tensors[name]!) }
        self.step = step
    }
}
