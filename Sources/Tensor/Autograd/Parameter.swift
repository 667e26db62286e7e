/// A trainable tensor and its gradient buffer. Both are views: in a `ParameterStore` they point into
/// the store's flat buffers, so zeroing gradients and an optimizer step are single loops.
public final class Parameter {
    /// The parameter's name, as in checkpoints (`experts.layers.0.weight`).
    public let name: String
    /// The parameter's values.
    public let value: Tensor
    /// The gradient, same shape as `value`; backward passes add into it.
    public let grad: Tensor
    /// Whether `grad` holds values that count as zero (a finished step's, left in place by
    /// `ParameterStore.discardGradients()`): the next write into it overwrites instead of adding,
    /// so a weight gradient's GEMM runs with beta 0 and reads no C. Cleared by that first write,
    /// or by zeroing the buffer (`ParameterStore.materializeGradients()`, the end of a tape's
    /// backward pass). Read `grad` only while this is false.
    public internal(set) var gradIsStale = false

    /// A parameter over existing contiguous value and gradient views of the same shape.
    public init(name: String, value: Tensor, grad: Tensor) {
        precondition(value.shape == grad.shape, "Parameter \(name): value shape \(value.shape) and gradient shape \(grad.shape) differ")
        precondition(value.isContiguous && grad.isContiguous, "Parameter \(name): value and gradient must be contiguous")
        self.name = name
        self.value = value
        self.grad = grad
    }

    /// A standalone parameter with its own storage, gradient zeroed.
    public convenience init(name: String, value: Tensor) {
        self.init(name: name, value: value.copy(), grad: Tensor(shape: value.shape))
    }

    /// The parameter's shape.
    public var shape: [Int] { value.shape }
}

/// The dense parameters of a model in two flat buffers (values and gradients) with one named view
/// per parameter, in the order given.
public final class ParameterStore {
    /// The named views, in the order given.
    public let parameters: [Parameter]
    /// All values, back to back: `[P]` where P is the total parameter count.
    public let values: Tensor
    /// All gradients, in the same layout as `values`.
    public let grads: Tensor

    /// Allocates zeroed values and gradients for `specs` (name, shape); names must be unique.
    public convenience init(_ specs: [(name: String, shape: [Int])]) {
        let total = specs.reduce(0) { $0 + $1.shape.reduce(1, *) }
        self.init(specs, values: Tensor(shape: [total]))
    }

    /// A store over the same value buffer as `source` (same names and layout; an update to one is
    /// an update to both) with its own zeroed gradients: what one shard of a batch accumulates
    /// into when shards run their backward passes concurrently.
    public convenience init(sharingValuesOf source: ParameterStore) {
        self.init(source.parameters.map { ($0.name, $0.shape) }, values: source.values)
    }

    private init(_ specs: [(name: String, shape: [Int])], values: Tensor) {
        precondition(Set(specs.map(\.name)).count == specs.count, "ParameterStore: duplicate parameter names")
        let total = specs.reduce(0) { $0 + $1.shape.reduce(1, *) }
        precondition(values.shape == [total] && values.isContiguous, "ParameterStore: values must be a contiguous [\(total)]")
        self.values = values
        grads = Tensor(shape: [total])
        var offset = 0
        var params: [Parameter] = []
        for spec in specs {
            let n = spec.shape.reduce(1, *)
            let strides = Tensor.contiguousStrides(spec.shape)
            params.append(Parameter(
                name: spec.name,
                value: Tensor(storage: values.storage, shape: spec.shape, strides: strides, offset: offset),
                grad: Tensor(storage: grads.storage, shape: spec.shape, strides: strides, offset: offset)))
            offset += n
        }
        parameters = params
    }

    /// The parameter named `name`, if any.
    public subscript(name: String) -> Parameter? { parameters.first { $0.name == name } }

    /// The total number of parameter values.
    public var count: Int { values.count }

    /// Sets every gradient to zero (one pass over the flat buffer, spread over the threads).
    public func zeroGrad() {
        Kernels.zero(grads)
        for p in parameters { p.gradIsStale = false }
    }

    /// Lets every gradient count as zero without writing the buffer: the next backward pass
    /// overwrites each gradient where it used to add to a zeroed one (see `Parameter.gradIsStale`).
    /// NOTE: zeroing after each update wrote the whole buffer, and the next step's weight-gradient
    /// GEMMs read it back as their C; on DeepRec's model that is 6 MB of memory traffic a step
    /// for each gradient buffer (~13 MB with two shards' buffers: StepKernels) for nothing. The
    /// sums are the same (x + 0 = x), except that a gradient of -0 stays -0.
    public func discardGradients() {
        for p in parameters { p.gradIsStale = true }
    }

    /// Zeroes the gradients still counted as zero since `discardGradients()` (parameters that no
    /// backward pass wrote since), so the flat `grads` buffer can be read as a whole.
    public func materializeGradients() {
        for p in parameters where p.gradIsStale {
            Kernels.zero(p.grad)
            p.gradIsStale = false
        }
    }
}
