import Tensor

/// An optimizer of an `MMoEModel`: dense parameters updated in one pass over the flat buffers,
/// embedding rows updated lazily (only the rows a batch touched, with their state in `[V, D]`
/// tensors alongside the table).
public protocol Optimizer: AnyObject {
    var learningRate: Float { get set }
    /// Updates applied so far (the global step).
    var step: Int { get }
    /// Applies one update from the gradients held by `model` (dense `model.parameters.grads`;
    /// embedding rows via `model.embedding?.touchedRows`/gradValues — only touched rows are
    /// updated), to the dense elements in `dense` only (a range of the flat parameter buffer):
    /// the rest, and their state, stay as they are. Every dense update is elementwise, so
    /// updating the buffer in blocks gives the same bits as updating it whole; a distributed step
    /// updates one block per rank and gathers the values (`Trainer+Distributed.swift`). The caller
    /// zeroes the gradients after (or lets them count as zero). Given `shards`, the dense pass
    /// reads each element's gradient as the model's plus the other shards' (and L2) instead of
    /// the model's alone (`ShardGradients`; only with `dense` the whole buffer).
    func update(_ model: MMoEModel, dense: Range<Int>, shards: ShardGradients?)
    /// Every state tensor by a stable name (`"adam.m"`, `"adagrad.embedding.accumulator"`, ...), in a
    /// fixed order, for checkpoints; with `step` this is the whole state. Array state is returned as
    /// live views (copy them to keep a snapshot); scalar state as fresh `[1]` or `[2]` tensors.
    func stateTensors() -> [(name: String, tensor: Tensor)]
    /// The inverse of `step` and `stateTensors()`: `tensors` must hold exactly those names, each with
    /// the same shape, or an `OptimizerStateError` naming the offending tensor is thrown and nothing
    /// is changed.
    func restore(step: Int, tensors: [String: Tensor]) throws
}

extension Optimizer {
    /// Applies one update to every dense parameter (and the touched embedding rows).
    public func update(_ model: MMoEModel) { update(model, dense: 0..<model.parameters.count, shards: nil) }

    /// Applies one update to the dense elements in `dense` (and the touched embedding rows).
    public func update(_ model: MMoEModel, dense: Range<Int>) { update(model, dense: dense, shards: nil) }
}

extension MMoEModel {
    /// The dense values and gradients in `range` of the flat buffer, as views.
    func dense(_ range: Range<Int>) -> (values: Tensor, grads: Tensor) {
        (parameters.values.slice(0, range), parameters.grads.slice(0, range))
    }
}

/// The optimizer `kind` for `model`, with every other hyper-parameter at its DeepRec default
/// (`adam` is our PyTorch-form `Adam`).
public func makeOptimizer(_ kind: OptimizerKind, for model: MMoEModel, learningRate: Float) -> any Optimizer {
    switch kind {
    case .adam: Adam(for: model, learningRate: learningRate)
    case .adamasync: AdamAsync(for: model, learningRate: learningRate)
    case .adagrad: Adagrad(for: model, learningRate: learningRate)
    case .adagraddecay: AdagradDecay(for: model, learningRate: learningRate)
    case .gradientdescent: GradientDescent(learningRate: learningRate)
    }
}

/// A restore that does not fit the optimizer: a missing, unexpected or misshapen tensor, or a
/// negative step.
public struct OptimizerStateError: Error, CustomStringConvertible {
    public let description: String
}

extension Optimizer {
    /// Checks `tensors` against `stateTensors()`: every name present with the same shape, no other
    /// name, and a non-negative step. The error names the first offending tensor.
    func checkState(step: Int, _ tensors: [String: Tensor]) throws(OptimizerStateError) {
        let kind = String(describing: type(of: self))
        guard step >= 0 else { throw OptimizerStateError(description: "\(kind): step must be >= 0, got \(step)") }
        let expected = stateTensors()
        for (name, tensor) in expected {
            guard let stored = tensors[name] else {
                throw OptimizerStateError(description: "\(kind): optimizer state \(name) is missing")
            }
            guard stored.shape == tensor.shape else {
                throw OptimizerStateError(description:
                    "\(kind): optimizer state \(name) has shape \(stored.shape), expected \(tensor.shape)")
            }
        }
        let known = Set(expected.map(\.name))
        if let extra = tensors.keys.sorted().first(where: { !known.contains($0) }) {
            throw OptimizerStateError(description: "\(kind): unexpected optimizer state \(extra)")
        }
    }
}
