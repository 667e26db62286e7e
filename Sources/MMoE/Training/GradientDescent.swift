import Tensor

/// Plain gradient descent (TensorFlow's `GradientDescentOptimizer`): p -= lr · g. Embedding rows
/// without a gradient this step are not visited. No state besides the step count.
public final class GradientDescent: Optimizer {
    public var learningRate: Float
    public private(set) var step = 0

    public init(learningRate: Float) {
        precondition(learningRate > 0, "GradientDescent: learning rate must be positive, got \(learningRate)")
        self.learningRate = learningRate
    }

    public func update(_ model: MMoEModel, dense: Range<Int>, shards: ShardGradients?) {
        step += 1
        let (values, grads) = model.dense(dense)
        Kernels.gradientDescentUpdate(values: values, grads: grads, learningRate: learningRate, shards: shards)
        if let table = model.embedding { Kernels.gradientDescentUpdateTouchedRows(table, learningRate: learningRate) }
    }

    public func stateTensors() -> [(name: String, tensor: Tensor)] { [] }

    public func restore(step: Int, tensors: [String: Tensor]) throws {
        try checkState(step: step, tensors)
        self.step = step
    }
}
