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
/// Both in one pass over the rows (`Kernels.gatedMixtureBackward`): each row's output gradients
/// are read once for both.
struct GatedMixtureBackward: BackwardOp {
    let gates: Int, gatesValue: Tensor, experts: Int, expertsValue: Tensor
    func backward(_ grad: Tensor, _ tape: Tape) {
        guard gates >= 0 || experts >= 0 else { return }
        let (dg, dx) = Kernels.gatedMixtureBackward(grad.contiguous(), gatesValue, expertsValue,
                                                    gatesGrad: gates >= 0, expertsGrad: experts >= 0)
        if let dg { tape.accumulate(gates, dg) }
        if let dx { tape.accumulate(experts, dx) }
    }
}

extension Kernels {
    /// Forward of `gatedMixture` on contiguous `g` `[T, B, E]` and `x` `[E, B, H]`: each output
    /// element is 0 + g_0·x_0 + g_1·x_1 + ... in expert order, 16 lanes at a time.
    static func gatedMixture(_ g: Tensor, _ x: Tensor) -> Tensor {
        let (t, b, e, h) = (g.shape[0], g.shape[1], g.shape[2], x.shape[2])
        let out = Tensor(uninitializedShape: [t, b, h])
        let po = out.storage.base + out.offset
        let pg = UnsafePointer(g.storage.base + g.offset), px = UnsafePointer(x.storage.base + x.offset)
        for ti in 0..<t {
            for bi in 0..<b {
                let dst = po + (ti * b + bi) * h, w = pg + (ti * b + bi) * e
                var j = 0
                while j + 16 <= h {
                    var acc = SIMD16<Float>()
                    for ei in 0..<e { acc += SIMD16(repeating: w[ei]) * load16(px + (ei * b + bi) * h + j) }
                    store16(acc, dst + j)
                    j += 16
                }
                while j < h {
                    var acc: Float = 0
                    for ei in 0..<e { acc += w[ei] * px[(ei * b + bi) * h + j] }
                    dst[j] = acc
                    j += 1
                }
            }
        }
        return out
    }

    /// Backward of `gatedMixture` from contiguous `dout` `[T, B, H]`: the gates' gradient `[T, B, E]`
    /// (the dot product of each task row's output gradient with each expert's row: 16 partial
    /// sums, then their sum, then the tail) and the experts' `[E, B, H]` (each expert row's
    /// gradient, 0 + g_0·dout_0 + g_1·dout_1 + ... in task order), in one pass over the rows.
    static func gatedMixtureBackward(_ dout: Tensor, _ g: Tensor, _ x: Tensor, gatesGrad: Bool, expertsGrad: Bool)
        -> (gates: Tensor?, experts: Tensor?) {
        let (t, b, h, e) = (dout.shape[0], dout.shape[1], dout.shape[2], x.shape[0])
        let dg = gatesGrad ? Tensor(uninitializedShape: [t, b, e]) : nil
        let dx = expertsGrad ? Tensor(uninitializedShape: [e, b, h]) : nil
        let pd = UnsafePointer(dout.storage.base + dout.offset)
        let pg = UnsafePointer(g.storage.base + g.offset), px = UnsafePointer(x.storage.base + x.offset)
        let pdg = dg.map { $0.storage.base + $0.offset }, pdx = dx.map { $0.storage.base + $0.offset }
        for bi in 0..<b {
            for ei in 0..<e {
                let src = px + (ei * b + bi) * h
                if let pdg {
                    for ti in 0..<t {
                        let d = pd + (ti * b + bi) * h
                        var acc = SIMD16<Float>()
                        var j = 0
                        while j + 16 <= h { acc += load16(d + j) * load16(src + j); j += 16 }
                        var s = acc.sum()
                        while j < h { s += d[j] * src[j]; j += 1 }
                        pdg[(ti * b + bi) * e + ei] = s
                    }
                }
                if let pdx {
                    let dst = pdx + (ei * b + bi) * h
                    var j = 0
                    while j + 16 <= h {
                        var acc = SIMD16<Float>()
                        for ti in 0..<t { acc += SIMD16(repeating: pg[(ti * b + bi) * e + ei]) * load16(pd + (ti * b + bi) * h + j) }
                        store16(acc, dst + j)
                        j += 16
                    }
                    while j < h {
                        var acc: Float = 0
                        for ti in 0..<t { acc += pg[(ti * b + bi) * e + ei] * pd[(ti * b + bi) * h + j] }
                        dst[j] = acc
                        j += 1
                    }
                }
            }
        }
        return (dg, dx)
    }
}
