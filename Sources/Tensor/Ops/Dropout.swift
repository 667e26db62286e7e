extension Variable {
    /// Inverted dropout: in training, each element is zeroed with probability `rate` and the rest
    /// are scaled by 1/(1 - rate), so evaluation needs no rescaling. Outside training, or with
    /// rate 0, the input is returned unchanged. The mask comes from `rng`, so a seed reproduces it.
    public func dropout(rate: Float, training: Bool, rng: inout SeededRNG) -> Variable {
        precondition(rate >= 0 && rate < 1, "dropout: rate must be in [0, 1), got \(rate)")
        guard training && rate > 0 else { return self }
        let keep = 1 / (1 - rate)
        let mask = Tensor(uninitializedShape: shape)
        let out = tape.timed("dropout") {
            mask.withUnsafeMutableBufferPointer { m in
                for i in 0..<m.count { m[i] = rng.nextUniform() < rate ? 0 : keep }
            }
            return Kernels.mul(value, mask)
        }
        return tape.record(out, input: self, name: "dropout") { DropoutBackward(input: id, mask: mask) }
    }
}

struct DropoutBackward: BackwardOp {
    let input: Int, mask: Tensor
    func backward(_ grad: Tensor, _ tape: Tape) { tape.accumulate(input, Kernels.mul(grad, mask)) }
}
