/// The activation fused into a dense layer's GEMM epilogue.
public enum Activation: Sendable {
    case none, relu
}

extension Variable {
    /// A dense layer in one GEMM pass: `act(x · W + b)`.
    /// Shapes: x `[B, D]`, W `[D, H]`, b `[H]` -> `[B, H]`; batched over E experts: x `[B, D]` (shared)
    /// or `[E, B, D]`, W `[E, D, H]`, b `[E, H]` -> `[E, B, H]`.
    public func linear(_ weight: Variable, _ bias: Variable?, activation: Activation = .none) -> Variable {
        let relu = activation == .relu
        let out = weight.rank == 2 && rank == 2
            ? Kernels.matmul(value, weight.value, bias: bias?.value, relu: relu)
            : Kernels.batchedMatmul(value, weight.value, bias: bias?.value, relu: relu)
        var inputs = [self, weight]
        if let bias { inputs.append(bias) }
        return tape.record(out, inputs: inputs) {
            LinearBackward(x: id, xValue: value, w: weight.id, wValue: weight.value,
                           b: bias?.id ?? -1, bShape: bias?.shape ?? [], relu: relu, out: out)
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
        if b >= 0 {
            // dz is [B, H] or [E, B, H]: sum over the batch rows.
            let db = Kernels.sum(dz, axes: [dz.rank - 2]).reshaped(bShape)
            tape.accumulate(b, db)
        }
    }
}
