import Tensor

/// How the gates' output layer starts (`--gate_init`).
public enum GateInit: String, Sendable, CaseIterable {
    /// Xavier-normal like every other weight (the default): each gate starts with input-dependent,
    /// unequal weights over the experts.
    case xavier
    /// The gates' output layer (`gates.out.weight`, and `gates.out.bias` when there is one) set to
    /// zero after the normal initialisation, so every gate starts uniform (1/E on every expert for
    /// every row) and learns its routing from there.
    case zero
}

extension MMoEModel {
    /// Applies `gateInit` to a freshly initialised model. `.zero` overwrites the gates' output
    /// layer after the usual draws, so the random numbers every other layer received are the same
    /// as with `.xavier` (and the configuration, hence the checkpoint format, is unchanged). A
    /// model without gates (PLE's gates included, which are not in `gates.out`) is left alone.
    public func applyGateInit(_ gateInit: GateInit) {
        guard gateInit == .zero, let out = layers.gateOut else { return }
        out.weight.value.assign(Tensor(shape: out.weight.shape))
        if let bias = out.bias { bias.value.assign(Tensor(shape: bias.shape)) }
    }
}
