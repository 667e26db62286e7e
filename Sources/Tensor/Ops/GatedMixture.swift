/// The MMoE mixture: each task's gate weights combine the experts' outputs row by row.
///
/// `gates` `[T, B, E]` (softmax weights), `experts` `[E, B, H]` -> `[T, B, H]` with
/// out[t, b, :] = Σ_e gates[t, b, e] · experts[e, b, :].
/// One fused op instead of broadcast-multiply-then-sum: the `[T, E, B, H]` product is never built,
/// and its backward is two small loops instead of broadcasts and reductions.
public func gatedMixture(gates: Variable, experts: Variable) -> Variable {
    precondition(gates.rank == 3 && experts.rank == 3 && gates.shape[1] == experts.shape[1] && gates.shape[2] == experts.shape[0],
                 "gatedMixture: gates must be [T, B, E] and experts [E, B, H], got \(gates.shape) and \(experts.shape)")
    let g = gates.value.contiguous(), x = experts.value.contiguous()
    let out = gates.tape.timed("gated_mixture") { Kernels.gatedMixture(g, x) }
    return gates.tape.record(out, inputs: [gates, experts], name: "gated_mixture") {
        GatedMixtureBackward(gates: gates.id, gatesValue: g, experts: experts.id, expertsValue: x)
    }
}

/// dgates[t, b, e] = dout[t, b, :] · experts[e, b, :];  dexperts[e, b, :] = Σ_t gates[t, b, e] · dout[t, b, :].
struct GatedMixtureBackward: BackwardOp {
    let gates: Int, gatesValue: Tensor, experts: Int, expertsValue: Tensor
    func backward(_ grad: Tensor, _ tape: Tape) {
        let dout = grad.contiguous()
        if gates >= 0 { tape.accumulate(gates, Kernels.gatedMixtureGatesGrad(dout, expertsValue)) }
        if experts >= 0 { tape.accumulate(experts, Kernels.gatedMixtureExpertsGrad(dout, gatesValue)) }
    }
}

extension Kernels {
    /// Forward of `gatedMixture` on contiguous `g` `[T, B, E]` and `x` `[E, B, H]`.
    static func gatedMixture(_ g: Tensor, _ x: Tensor) -> Tensor {
        let (t, b, e, h) = (g.shape[0], g.shape[1], g.shape[2], x.shape[2])
        let out = Tensor(shape: [t, b, h], repeating: 0)
        let po = out.storage.base + out.offset
        g.withUnsafeBufferPointer { pg in
            x.withUnsafeBufferPointer { px in
                for ti in 0..<t {
                    for bi in 0..<b {
                        let dst = po + (ti * b + bi) * h
                        for ei in 0..<e {
                            let w = pg[(ti * b + bi) * e + ei]
                            let src = px.baseAddress! + (ei * b + bi) * h
                            for j in 0..<h { dst[j] += w * src[j] }
                        }
                    }
                }
            }
        }
        return out
    }

    /// `[T, B, E]`: the dot product of each task row's output gradient with each expert's row.
    static func gatedMixtureGatesGrad(_ dout: Tensor, _ x: Tensor) -> Tensor {
        let (t, b, h, e) = (dout.shape[0], dout.shape[1], dout.shape[2], x.shape[0])
        let dg = Tensor(uninitializedShape: [t, b, e])
        let pd = dg.storage.base + dg.offset
        dout.withUnsafeBufferPointer { pg in
            x.withUnsafeBufferPointer { px in
                for ti in 0..<t {
                    for bi in 0..<b {
                        let d = pg.baseAddress! + (ti * b + bi) * h
                        for ei in 0..<e {
                            let src = px.baseAddress! + (ei * b + bi) * h
                            var s: Float = 0
                            for j in 0..<h { s += d[j] * src[j] }
                            pd[(ti * b + bi) * e + ei] = s
                        }
                    }
                }
            }
        }
        return dg
    }

    /// `[E, B, H]`: each expert row's gradient, summed over tasks with that task's gate weight.
    static func gatedMixtureExpertsGrad(_ dout: Tensor, _ g: Tensor) -> Tensor {
        let (t, b, h, e) = (dout.shape[0], dout.shape[1], dout.shape[2], g.shape[2])
        let dx = Tensor(shape: [e, b, h], repeating: 0)
        let px = dx.storage.base + dx.offset
        dout.withUnsafeBufferPointer { pd in
            g.withUnsafeBufferPointer { pg in
                for ei in 0..<e {
                    for bi in 0..<b {
                        let dst = px + (ei * b + bi) * h
                        for ti in 0..<t {
                            let w = pg[(ti * b + bi) * e + ei]
                            let d = pd.baseAddress! + (ti * b + bi) * h
                            for j in 0..<h { dst[j] += w * d[j] }
                        }
                    }
                }
            }
        }
        return dx
    }
}
