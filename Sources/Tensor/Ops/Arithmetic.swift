/// add, sub, mul, div with NumPy broadcasting. Backward reduces each gradient back to its input's
/// shape (summing over the broadcast dimensions).

public func + (a: Variable, b: Variable) -> Variable {
    let out = a.tape.timed("add") { Kernels.add(a.value, b.value) }
    return a.tape.record(out, inputs: [a, b], name: "add") { AddBackward(a: a.id, aShape: a.shape, b: b.id, bShape: b.shape, sign: 1) }
}

public func - (a: Variable, b: Variable) -> Variable {
    let out = a.tape.timed("sub") { Kernels.sub(a.value, b.value) }
    return a.tape.record(out, inputs: [a, b], name: "sub") { AddBackward(a: a.id, aShape: a.shape, b: b.id, bShape: b.shape, sign: -1) }
}

struct AddBackward: BackwardOp {
    let a: Int, aShape: [Int], b: Int, bShape: [Int], sign: Float
    func backward(_ grad: Tensor, _ tape: Tape) {
        tape.accumulate(a, Kernels.sumToShape(grad, aShape))
        let gb = Kernels.sumToShape(grad, bShape)
        tape.accumulate(b, sign == 1 ? gb : Kernels.scale(gb, sign))
    }
}

public func * (a: Variable, b: Variable) -> Variable {
    let out = a.tape.timed("mul") { Kernels.mul(a.value, b.value) }
    return a.tape.record(out, inputs: [a, b], name: "mul") { MulBackward(a: a.id, aValue: a.value, b: b.id, bValue: b.value) }
}

struct MulBackward: BackwardOp {
    let a: Int, aValue: Tensor, b: Int, bValue: Tensor
    func backward(_ grad: Tensor, _ tape: Tape) {
        if a >= 0 { tape.accumulate(a, Kernels.sumToShape(Kernels.mul(grad, bValue), aValue.shape)) }
        if b >= 0 { tape.accumulate(b, Kernels.sumToShape(Kernels.mul(grad, aValue), bValue.shape)) }
    }
}

public func / (a: Variable, b: Variable) -> Variable {
    let out = a.tape.timed("div") { Kernels.div(a.value, b.value) }
    return a.tape.record(out, inputs: [a, b], name: "div") { DivBackward(a: a.id, aShape: a.shape, b: b.id, bValue: b.value, out: out) }
}

/// d(a/b)/da = 1/b; d(a/b)/db = -(a/b)/b.
struct DivBackward: BackwardOp {
    let a: Int, aShape: [Int], b: Int, bValue: Tensor, out: Tensor
    func backward(_ grad: Tensor, _ tape: Tape) {
        let gOverB = Kernels.div(grad, bValue)
        if a >= 0 { tape.accumulate(a, Kernels.sumToShape(gOverB, aShape)) }
        if b >= 0 {
            let gb = Kernels.scale(Kernels.mul(gOverB, out), -1)
            tape.accumulate(b, Kernels.sumToShape(gb, bValue.shape))
        }
    }
}

extension Variable {
    /// self * alpha for a constant scalar.
    public func scaled(by alpha: Float) -> Variable {
        tape.record(tape.timed("scale") { Kernels.scale(value, alpha) }, input: self, name: "scale") { ScaleBackward(input: id, alpha: alpha) }
    }
}

struct ScaleBackward: BackwardOp {
    let input: Int, alpha: Float
    func backward(_ grad: Tensor, _ tape: Tape) { tape.accumulate(input, Kernels.scale(grad, alpha)) }
}
