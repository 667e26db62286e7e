import Foundation

extension Variable {
    /// The multi-task loss when tasks differ in type: Σ_t mean_b ℓ_t(x[t, b], y[t, b]) over
    /// outputs `self` `[T, B]` and `targets` `[T, B]`, where ℓ_t is the BCE-with-logits of
    /// `bceWithLogits` for a binary task and the squared error (x - y)² of `mse` for a task with
    /// `regression[t]`. One op, so a mixed set of tasks needs no per-task slicing on the tape.
    public func taskLossSum(_ targets: Tensor, regression: [Bool]) -> Variable {
        precondition(rank == 2 && targets.shape == shape && regression.count == shape[0],
                     "taskLossSum: outputs \(shape), targets \(targets.shape) and \(regression.count) task types do not fit [T, B]")
        let x = value.contiguous(), y = targets.contiguous()
        let (t, b) = (shape[0], shape[1])
        precondition(b > 0, "taskLossSum: empty batch")
        let out = tape.timed("task_loss_sum") {
            var total = 0.0
            x.withUnsafeBufferPointer { px in
                y.withUnsafeBufferPointer { py in
                    for ti in 0..<t {
                        var task = 0.0
                        for i in (ti * b)..<((ti + 1) * b) {
                            let xi = px[i], yi = py[i]
                            task += regression[ti] ? Double(xi - yi) * Double(xi - yi) : Double(max(xi, 0) - xi * yi + log1p(exp(-abs(xi))))
                        }
                        total += task / Double(b)
                    }
                }
            }
            return Tensor(scalar: Float(total))
        }
        return tape.record(out, input: self, name: "task_loss_sum") { TaskLossSumBackward(input: id, outputs: x, targets: y, regression: regression) }
    }
}

/// d/dx[t, b] = (σ(x) - y) / B for a binary task, 2 (x - y) / B for a regression task.
struct TaskLossSumBackward: BackwardOp {
    let input: Int, outputs: Tensor, targets: Tensor, regression: [Bool]
    func backward(_ grad: Tensor, _ tape: Tape) {
        let b = outputs.shape[1]
        let scale = grad.item / Float(b)
        let binary = Kernels.zip(Kernels.sigmoid(outputs), targets, { p, y in (p - y) * scale }, lanes: { p, y in (p - y) * scale })
        let squared = Kernels.zip(outputs, targets, { x, y in 2 * (x - y) * scale }, lanes: { x, y in 2 * (x - y) * scale })
        let g = Tensor(uninitializedShape: outputs.shape)
        for (t, isRegression) in regression.enumerated() {
            g.select(0, t).assign((isRegression ? squared : binary).select(0, t))
        }
        tape.accumulate(input, g)
    }
}
