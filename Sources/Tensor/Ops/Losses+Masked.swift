import Foundation

extension Variable {
    /// The multi-task loss when some labels are left out: Σ_t c[t] · Σ_b include[t, b] · ℓ_t(x[t, b], y[t, b])
    /// over outputs `self` `[T, B]` and `targets` `[T, B]`, where ℓ_t is the BCE-with-logits of
    /// `bceWithLogits` for a binary task and the squared error (x - y)² for a task with
    /// `regression[t]`. `include` is `[T * B]`, task-major like the outputs; a left-out entry is not
    /// read at all (its target may be NaN) and gets a gradient of exactly 0. `coefficients` `[T]`
    /// are the caller's per-row weights: a task weight divided by the task's included rows makes
    /// the term a weighted mean (a task with no included rows then adds 0 and a zero gradient).
    public func maskedTaskLoss(_ targets: Tensor, regression: [Bool], include: [Bool], coefficients: [Float]) -> Variable {
        precondition(rank == 2 && targets.shape == shape && regression.count == shape[0] && coefficients.count == shape[0]
                     && include.count == value.count,
                     "maskedTaskLoss: outputs \(shape), targets \(targets.shape), \(regression.count) task types, \(coefficients.count) coefficients and \(include.count) flags do not fit [T, B]")
        let x = value.contiguous(), y = targets.contiguous()
        let (t, b) = (shape[0], shape[1])
        let out = tape.timed("masked_task_loss") {
            var total = 0.0
            x.withUnsafeBufferPointer { px in
                y.withUnsafeBufferPointer { py in
                    for ti in 0..<t where coefficients[ti] != 0 {
                        var task = 0.0
                        for i in (ti * b)..<((ti + 1) * b) where include[i] {
                            let xi = px[i], yi = py[i]
                            task += regression[ti] ? Double(xi - yi) * Double(xi - yi) : Double(max(xi, 0) - xi * yi + log1p(exp(-abs(xi))))
                        }
                        total += Double(coefficients[ti]) * task
                    }
                }
            }
            return Tensor(scalar: Float(total))
        }
        return tape.record(out, input: self, name: "masked_task_loss") {
            MaskedTaskLossBackward(input: id, outputs: x, targets: y, regression: regression, include: include, coefficients: coefficients)
        }
    }
}

/// d/dx[t, b] = c[t] · (σ(x) - y) for an included binary entry, c[t] · 2 (x - y) for an included
/// regression entry, 0 for an entry left out (whatever its target).
struct MaskedTaskLossBackward: BackwardOp {
    let input: Int, outputs: Tensor, targets: Tensor, regression: [Bool], include: [Bool], coefficients: [Float]
    func backward(_ grad: Tensor, _ tape: Tape) {
        let (t, b) = (outputs.shape[0], outputs.shape[1])
        let g = Tensor(shape: outputs.shape)
        let seed = grad.item
        outputs.withUnsafeBufferPointer { px in
            targets.withUnsafeBufferPointer { py in
                g.withUnsafeMutableBufferPointer { pg in
                    for ti in 0..<t where coefficients[ti] != 0 {
                        let scale = seed * coefficients[ti]
                        for i in (ti * b)..<((ti + 1) * b) where include[i] {
                            let xi = px[i], yi = py[i]
                            pg[i] = regression[ti] ? 2 * (xi - yi) * scale : (1 / (1 + exp(-xi)) - yi) * scale
                        }
                    }
                }
            }
        }
        tape.accumulate(input, g)
    }
}
