import Tensor

/// Reading the gates out of a trained model, for `--gate_report`: do the tasks use different
/// experts, or has a gate collapsed onto one?
extension MMoEModel {
    /// Whether the network mixes experts through softmax gates (`gateWeights` is not nil).
    public var hasGates: Bool { parameters["gates.out.weight"] != nil }

    /// The softmax gate outputs `[T, B, E]` for `batch` (one distribution over the experts per
    /// task and row) in eval mode: no dropout, nothing recorded for a backward pass. Computed by
    /// the same `gates` function `logits` mixes the experts with. nil for a model without gates.
    public func gateWeights(_ batch: Batch, options: TapeOptions = TapeOptions()) -> Tensor? {
        let tape = Tape(recording: false, options: options)
        var rng = SeededRNG(seed: 0) // unused: no dropout outside training
        return gates(input(batch, tape: tape), training: false, tape: tape, rng: &rng)?.value.contiguous()
    }
}
