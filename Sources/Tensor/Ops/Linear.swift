/// The activation fused into a dense layer's GEMM epilogue.
public enum Activation: Sendable {
    case none, relu
}

extension Variable {
    /// A dense layer: `act(x · W + b)`.
    /// Shapes: x `[B, D]`, W `[D, H]`, b `[H]` -> `[B, H]`; batched over E experts: x `[B, D]` (shared)
    /// or `[E, B, D]`, W `[E, D, H]`, b `[E, H]` (or `[H]`) -> `[E, B, H]`.
    /// With the tape's `fuseEpilogues` (the default) this is one GEMM pass with bias and activation
    /// in its epilogue, one tape node; without, it records `matmul`, `bias_add` and `relu` as
    /// separate nodes (the same values: the epilogue does the same Float operations).
    public func linear(_ weight: Variable, _ bias: Variable?, activation: Activation = .none) -> Variable {
        guard tape.options.fuseEpilogues else {
            var h = matmul(weight)
            if let bias { h = h.biasAdd(bias) }
            return activation == .relu ? h.relu() : h
        }
        let relu = activation == .relu, bf16 = tape.options.bfloat16
        let out = tape.timed("linear") {
            weight.rank == 2 && rank == 2
                ? Kernels.matmul(value, weight.value, bias: bias?.value, relu: relu, bfloat16: bf16)
                : Kernels.batchedMatmul(value, weight.value, bias: bias?.value, relu: relu, bfloat16: bf16)
        }
        var inputs = [self, weight]
        if let bias { inputs.append(bias) }
        return tape.record(out, inputs: inputs, name: "linear") {
            LinearBackward(x: id, xValue: value, w: weight.id, wValue: weight.value,
                           b: bias?.id ?? -1, bShape: bias?.shape ?? [], relu: relu, out: out)
        }
    }

    /// `self + bias` with the bias broadcast over the rows: self `[B, H]` or `[E, B, H]`, bias `[H]`
    /// (shared) or `[E, H]` (one row per batch entry). The unfused form of a dense layer's epilogue.
    public func biasAdd(_ bias: Variable) -> Variable {
        let h = shape.last ?? 0
        precondition((rank == 2 || rank == 3) && (bias.shape == [h] || (rank == 3 && bias.shape == [shape[0], h])),
                     "biasAdd: bias shape \(bias.shape) does not fit input \(shape) (expected [H] or [E, H])")
        let out = tape.timed("bias_add") { Kernels.add(value, Kernels.biasView(bias.value)) }
        return tape.record(out, inputs: [self, bias], name: "bias_add") {
            BiasAddBackward(x: id, b: bias.id, bShape: bias.shape)
        }
    }
}

/// With z the pre-activation: dz = relu ? dy * (y > 0) : dy; dx = dz · Wᵀ; dW = xᵀ · dz; db = Σ_rows dz.
struct LinearBackward: BackwardOp {
    let x: Int, xValue: Tensor, w: Int, wValue: Tensor, b: Int, bShape: [Int], relu: Bool, out: Tensor
    func backward(_ grad: Tensor, _ tape: Tape) {
        let dz = relu ? Kernels.reluBackward(grad, out) : grad
        if x >= 0 { tape.accumulateProduct(dz, wValue.transposed(), into: x, nodeShape: xValue.shape) }
        if w >= 0 { tape.accumulateProduct(xValue.transposed(), dz, into: w, nodeShape: wValue.shape) }
        if b >= 0 { tape.accumulate(b, Kernels.biasGradient(dz, bShape)) }
    }
}

/// dx = dy; db = Σ_rows dy.
struct BiasAddBackward: BackwardOp {
    let x: Int, b: Int, bShape: [Int]
    func backward(_ grad: Tensor, _ tape: Tape) {
        tape.accumulate(x, grad)
        if b >= 0 { tape.accumulate(b, Kernels.biasGradient(grad, bShape)) }
    }
}

extension Kernels {
    /// A bias `[H]` as is, `[E, H]` as `[E, 1, H]`: the shape that broadcasts over the rows of `[E, B, H]`.
    static func biasView(_ bias: Tensor) -> Tensor {
        bias.rank == 2 ? bias.reshaped([bias.shape[0], 1, bias.shape[1]]) : bias
    }

    /// The gradient of a row-broadcast bias of shape `bShape` from the output gradient `dz`
    /// `[B, H]` or `[E, B, H]`: dz summed over the rows (and over E for a shared `[H]` bias).
    static func biasGradient(_ dz: Tensor, _ bShape: [Int]) -> Tensor {
        let view = bShape.count == 2 ? [bShape[0], 1, bShape[1]] : bShape
        return Kernels.sumToShape(dz, view).reshaped(bShape)
    }
}
