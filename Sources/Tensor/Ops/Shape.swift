extension Variable {
    /// Same elements, new shape (one dimension may be -1).
    public func reshaped(_ newShape: [Int]) -> Variable {
        let out = tape.timed("reshape") { value.reshaped(newShape) }
        return tape.record(out, input: self, name: "reshape") { ReshapeBackward(input: id, inputShape: shape) }
    }

    /// Dimensions reordered (a view; no copy).
    public func permuted(_ order: [Int]) -> Variable {
        let out = tape.timed("permute") { value.permuted(order) }
        var inverse = [Int](repeating: 0, count: order.count)
        for (i, o) in order.enumerated() { inverse[o] = i }
        return tape.record(out, input: self, name: "permute") { PermuteBackward(input: id, inverse: inverse) }
    }

    /// Two dimensions swapped (default: the last two).
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Variable { permuted(value.transposeOrder(a, b)) }
}

struct ReshapeBackward: BackwardOp {
    let input: Int, inputShape: [Int]
    func backward(_ grad: Tensor, _ tape: Tape) { tape.accumulate(input, grad.reshaped(inputShape)) }
}

struct PermuteBackward: BackwardOp {
    let input: Int, inverse: [Int]
    func backward(_ grad: Tensor, _ tape: Tape) { tape.accumulate(input, grad.permuted(inverse).contiguous()) }
}
