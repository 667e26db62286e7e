import Tensor

/// DeepRec's `AdagradDecayOptimizer`: Adagrad whose accumulator is multiplied by `decayRate` once
/// per `decayStep` global steps, never below the initial value (the baseline), so it cannot grow
/// without bound.
///
/// What is implemented, from DeepRec's `adagrad_decay.py` and its `ApplyAdagradDecay` /
/// `SparseApplyAdagradDecay` kernels: the global step the kernels see at the t-th update is t
/// (DeepRec passes `global_step + 1`, read before `minimize` increments it). Each state tensor has
/// a decay power, the decays it has had, starting at 0. One update of an element, with
/// periods = t / decayStep (integer division):
///
///     if periods > power { acc = max(acc · decayRate, baseline); power += 1 }
///     acc += g²
///     p -= lr · g / sqrt(acc)
///
/// The accumulator starts at the baseline (`initialAccumulator`, 0.1). Dense parameters share one
/// power (DeepRec keeps one per dense variable; all are updated every step, so they agree): they
/// decay at exactly t = decayStep, 2·decayStep, .... Embedding rows are updated lazily, only when
/// a batch touched them, each with its own power (`[V]`). NOTE: as in DeepRec, a touched row decays
/// at most once per update: a row untouched across k decay boundaries is k decays behind, decays
/// once on each of its next k touches (one per touch, not all k at once) and is caught up after
/// the k-th.
public final class AdagradDecay: Optimizer {
    public var learningRate: Float
    public let initialAccumulator: Float, decayStep: Int, decayRate: Float
    public private(set) var step = 0

    /// The accumulators of the dense parameters (`[P]`) and of the embedding table (`[V, D]`).
    public let accumulator: Tensor
    public let embeddingAccumulator: Tensor?
    /// Decays applied to the dense accumulator.
    public private(set) var decayPower = 0
    /// `[V]`: decays applied to each embedding row's accumulator (whole numbers, stored as Float).
    public let embeddingDecayPower: Tensor?

    public init(for model: MMoEModel, learningRate: Float, initialAccumulator: Float = 0.1,
                decayStep: Int = 100_000, decayRate: Float = 0.9) {
        precondition(learningRate > 0, "AdagradDecay: learning rate must be positive, got \(learningRate)")
        precondition(initialAccumulator > 0, "AdagradDecay: initial accumulator must be positive, got \(initialAccumulator)")
        precondition(decayStep > 0, "AdagradDecay: decay step must be positive, got \(decayStep)")
        precondition(decayRate > 0 && decayRate < 1, "AdagradDecay: decay rate must be in (0, 1), got \(decayRate)")
        self.learningRate = learningRate
        self.initialAccumulator = initialAccumulator
        self.decayStep = decayStep
        self.decayRate = decayRate
        accumulator = Tensor(shape: [model.parameters.count], repeating: initialAccumulator)
        embeddingAccumulator = model.embedding.map { Tensor(shape: $0.value.shape, repeating: initialAccumulator) }
        embeddingDecayPower = model.embedding.map { Tensor(shape: [$0.rows]) }
    }

    public func update(_ model: MMoEModel, dense: Range<Int>, shards: ShardGradients?) {
        step += 1
        let periods = step / decayStep
        let decay = AccumulatorDecay(rate: decayRate, floor: initialAccumulator)
        let denseDecays = periods > decayPower
        if denseDecays { decayPower += 1 }
        let (values, grads) = model.dense(dense)
        Kernels.adagradDecayUpdate(values: values, grads: grads, accumulator: accumulator.slice(0, dense),
                                   learningRate: learningRate, decay: denseDecays ? decay : nil, shards: shards)
        if let table = model.embedding, let acc = embeddingAccumulator, let power = embeddingDecayPower {
            Kernels.adagradDecayUpdateTouchedRows(table, accumulator: acc, decayPower: power, periods: periods,
                                                  learningRate: learningRate, decay: decay)
        }
    }

    public func stateTensors() -> [(name: String, tensor: Tensor)] {
        var state: [(name: String, tensor: Tensor)] = [
            ("adagraddecay.accumulator", accumulator),
            ("adagraddecay.decay_power", Tensor(shape: [1], scalars: [Float(decayPower)])),
        ]
        if let acc = embeddingAccumulator, let power = embeddingDecayPower {
            state += [("adagraddecay.embedding.accumulator", acc), ("adagraddecay.embedding.decay_power", power)]
        }
        return state
    }

    public func restore(step: Int, tensors: [String: Tensor]) throws {
        try checkState(step: step, tensors)
        let power = tensors["adagraddecay.decay_power"]!.scalars[0]
        guard power >= 0, power == power.rounded() else {
            throw OptimizerStateError(description: "AdagradDecay: optimizer state adagraddecay.decay_power is \(power), not a whole number >= 0")
        }
        for (name, tensor) in stateTensors() where name != "adagraddecay.decay_power" { tensor.assign(tensors[name]!) }
        decayPower = Int(power)
        self.step = step
    }
}
