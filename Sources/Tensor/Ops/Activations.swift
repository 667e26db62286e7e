import Foundation

extension Variable {
    /// max(x, 0). NOTE: the gradient at exactly 0 is taken as 0, as in PyTorch.
    public func relu() -> Variable {
        let out = tape.timed("relu") { Kernels.map(value, { max($0, 0) }, lanes: { $0.replacing(with: 0, where: $0 .< 0) }) }
        return tape.record(out, input: self, name: "relu") { ReluBackward(input: id, out: out) }
    }

    /// 1 / (1 + e^-x), computed without overflow for large |x|.
    public func sigmoid() -> Variable {
        let out = tape.timed("sigmoid") { Kernels.sigmoid(value) }
        return tape.record(out, input: self, name: "sigmoid") { SigmoidBackward(input: id, out: out) }
    }

    /// tanh(x).
    public func tanh() -> Variable {
        let out = tape.timed("tanh") {
            Kernels.map(value, { Foundation.tanh($0) }, lanes: { v in
                var r = v
                for i in 0..<16 { r[i] = Foundation.tanh(v[i]) }
                return r
            })
        }
        return tape.record(out, input: self, name: "tanh") { TanhBackward(input: id, out: out) }
    }
}

struct ReluBackward: BackwardOp {
    let input: Int, out: Tensor
    func backward(_ grad: Tensor, _ tape: Tape) {
        tape.accumulate(input, Kernels.reluBackward(grad, out))
    }
}

/// dσ/dx = σ(1 - σ).
struct SigmoidBackward: BackwardOp {
    let input: Int, out: Tensor
    func backward(_ grad: Tensor, _ tape: Tape) {
        tape.accumulate(input, Kernels.zip(grad, out, { g, y in g * y * (1 - y) }, lanes: { g, y in g * y * (1 - y) }))
    }
}

/// d tanh/dx = 1 - tanh².
struct TanhBackward: BackwardOp {
    let input: Int, out: Tensor
    func backward(_ grad: Tensor, _ tape: Tape) {
        tape.accumulate(input, Kernels.zip(grad, out, { g, y in g * (1 - y * y) }, lanes: { g, y in g * (1 - y * y) }))
    }
}

extension Kernels {
    /// grad where the ReLU output is positive, else 0.
    public static func reluBackward(_ grad: Tensor, _ out: Tensor) -> Tensor {
        zip(grad, out, { g, y in y > 0 ? g : 0 }, lanes: { g, y in g.replacing(with: 0, where: y .<= 0) })
    }

    /// Stable logistic function: for x >= 0, 1/(1+e^-x); for x < 0, e^x/(1+e^x). Neither form
    /// overflows, and both are exact to rounding at |x| = 100.
    public static func sigmoid(_ t: Tensor) -> Tensor {
        map(t, { stableSigmoid($0) }, lanes: { v in
            var r = v
            for i in 0..<16 { r[i] = stableSigmoid(v[i]) }
            return r
        })
    }

    @inline(__always) public static func stableSigmoid(_ x: Float) -> Float {
        if x >= 0 { return 1 / (1 + exp(-x)) }
        let e = exp(x)
        return e / (1 + e)
    }
}
