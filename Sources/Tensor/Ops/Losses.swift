import Foundation

extension Variable {
    /// Mean binary cross-entropy of logits `self` against `targets` in [0, 1] (same shape):
    /// mean(max(x, 0) - x·y + log(1 + e^-|x|)). This form never exponentiates a positive number,
    /// so it is finite and exact at |x| = 100, where log(sigmoid(x)) would give -inf.
    public func bceWithLogits(_ targets: Tensor) -> Variable {
        precondition(targets.shape == shape, "bceWithLogits: logits shape \(shape) and targets shape \(targets.shape) differ")
        let x = value.contiguous(), y = targets.contiguous()
        let n = x.count
        precondition(n > 0, "bceWithLogits: empty input")
        let out = tape.timed("bce_with_logits") {
            var total = 0.0
            x.withUnsafeBufferPointer { px in
                y.withUnsafeBufferPointer { py in
                    for i in 0..<n {
                        let xi = px[i], yi = py[i]
                        total += Double(max(xi, 0) - xi * yi + log1p(exp(-abs(xi))))
                    }
                }
            }
            return Tensor(scalar: Float(total / Double(n)))
        }
        return tape.record(out, input: self, name: "bce_with_logits") { BCEWithLogitsBackward(input: id, logits: x, targets: y) }
    }

    /// Mean squared error against `targets` (same shape): mean((x - y)²).
    public func mse(_ targets: Tensor) -> Variable {
        precondition(targets.shape == shape, "mse: predictions shape \(shape) and targets shape \(targets.shape) differ")
        precondition(value.count > 0, "mse: empty input")
        let (diff, out) = tape.timed("mse") {
            let diff = Kernels.sub(value, targets)
            var total = 0.0
            diff.withUnsafeBufferPointer { for v in $0 { total += Double(v) * Double(v) } }
            return (diff, Tensor(scalar: Float(total / Double(diff.count))))
        }
        return tape.record(out, input: self, name: "mse") { MSEBackward(input: id, diff: diff) }
    }
}

/// d/dx = (σ(x) - y) / N.
struct BCEWithLogitsBackward: BackwardOp {
    let input: Int, logits: Tensor, targets: Tensor
    func backward(_ grad: Tensor, _ tape: Tape) {
        let scale = grad.item / Float(logits.count)
        let g = Kernels.zip(Kernels.sigmoid(logits), targets, { p, y in (p - y) * scale }, lanes: { p, y in (p - y) * scale })
        tape.accumulate(input, g)
    }
}

/// d/dx = 2 (x - y) / N.
struct MSEBackward: BackwardOp {
    let input: Int, diff: Tensor
    func backward(_ grad: Tensor, _ tape: Tape) {
        tape.accumulate(input, Kernels.scale(diff, 2 * grad.item / Float(diff.count)))
    }
}
