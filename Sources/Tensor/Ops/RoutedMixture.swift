/// A gated mixture in which each task's gate weighs its own subset of the experts: PLE's task gates,
/// each over that task's experts and the shared ones.
///
/// `gates` `[T, B, K]` (softmax weights), `experts` `[N, B, H]`, `routes` T lists of K expert
/// indices in 0..<N -> `[T, B, H]` with out[t, b, :] = Σ_k gates[t, b, k] · experts[routes[t][k], b, :].
/// `gatedMixture` is the case where every route is 0..<N. An expert may appear in several routes
/// (a shared expert), so its gradient sums over them.
public func routedMixture(gates: Variable, experts: Variable, routes: [[Int]]) -> Variable {
    precondition(gates.rank == 3 && experts.rank == 3 && gates.shape[1] == experts.shape[1],
                 "routedMixture: gates must be [T, B, K] and experts [N, B, H], got \(gates.shape) and \(experts.shape)")
    precondition(routes.count == gates.shape[0] && routes.allSatisfy { $0.count == gates.shape[2] && $0.allSatisfy { (0..<experts.shape[0]).contains($0) } },
                 "routedMixture: routes must be \(gates.shape[0]) lists of \(gates.shape[2]) indices in 0..<\(experts.shape[0]), got \(routes)")
    let g = gates.value.contiguous(), x = experts.value.contiguous()
    let out = gates.tape.timed("routed_mixture") { Kernels.routedMixture(g, x, routes) }
    return gates.tape.record(out, inputs: [gates, experts], name: "routed_mixture") {
        RoutedMixtureBackward(gates: gates.id, gatesValue: g, experts: experts.id, expertsValue: x, routes: routes)
    }
}

/// dgates[t, b, k] = dout[t, b, :] · experts[routes[t][k], b, :];
/// dexperts[n, b, :] = Σ over (t, k) with routes[t][k] = n of gates[t, b, k] · dout[t, b, :].
struct RoutedMixtureBackward: BackwardOp {
    let gates: Int, gatesValue: Tensor, experts: Int, expertsValue: Tensor, routes: [[Int]]
    func backward(_ grad: Tensor, _ tape: Tape) {
        let dout = grad.contiguous()
        if gates >= 0 { tape.accumulate(gates, Kernels.routedMixtureGatesGrad(dout, expertsValue, routes)) }
        if experts >= 0 { tape.accumulate(experts, Kernels.routedMixtureExpertsGrad(dout, gatesValue, routes, experts: expertsValue.shape[0])) }
    }
}

extension Kernels {
    /// Forward of `routedMixture` on contiguous `g` `[T, B, K]` and `x` `[N, B, H]`.
    static func routedMixture(_ g: Tensor, _ x: Tensor, _ routes: [[Int]]) -> Tensor {
        let (t, b, k, h) = (g.shape[0], g.shape[1], g.shape[2], x.shape[2])
        let out = Tensor(shape: [t, b, h], repeating: 0)
        let po = out.storage.base + out.offset
        g.withUnsafeBufferPointer { pg in
            x.withUnsafeBufferPointer { px in
                for ti in 0..<t {
                    for bi in 0..<b {
                        let dst = po + (ti * b + bi) * h
                        for ki in 0..<k {
                            let w = pg[(ti * b + bi) * k + ki]
                            let src = px.baseAddress! + (routes[ti][ki] * b + bi) * h
                            for j in 0..<h { dst[j] += w * src[j] }
                        }
                    }
                }
            }
        }
        return out
    }

    /// `[T, B, K]`: each task row's output gradient dotted with the rows of the experts it routes to.
    static func routedMixtureGatesGrad(_ dout: Tensor, _ x: Tensor, _ routes: [[Int]]) -> Tensor {
        let (t, b, h, k) = (dout.shape[0], dout.shape[1], dout.shape[2], routes.first?.count ?? 0)
        let dg = Tensor(uninitializedShape: [t, b, k])
        let pd = dg.storage.base + dg.offset
        dout.withUnsafeBufferPointer { pg in
            x.withUnsafeBufferPointer { px in
                for ti in 0..<t {
                    for bi in 0..<b {
                        let d = pg.baseAddress! + (ti * b + bi) * h
                        for ki in 0..<k {
                            let src = px.baseAddress! + (routes[ti][ki] * b + bi) * h
                            var s: Float = 0
                            for j in 0..<h { s += d[j] * src[j] }
                            pd[(ti * b + bi) * k + ki] = s
                        }
                    }
                }
            }
        }
        return dg
    }

    /// `[N, B, H]`: each expert row's gradient, summed over the (task, slot) pairs routed to it.
    static func routedMixtureExpertsGrad(_ dout: Tensor, _ g: Tensor, _ routes: [[Int]], experts n: Int) -> Tensor {
        let (t, b, h, k) = (dout.shape[0], dout.shape[1], dout.shape[2], g.shape[2])
        let dx = Tensor(shape: [n, b, h], repeating: 0)
        let px = dx.storage.base + dx.offset
        dout.withUnsafeBufferPointer { pd in
            g.withUnsafeBufferPointer { pg in
                for ti in 0..<t {
                    for ki in 0..<k {
                        let e = routes[ti][ki]
                        for bi in 0..<b {
                            let w = pg[(ti * b + bi) * k + ki]
                            let d = pd.baseAddress! + (ti * b + bi) * h
                            let dst = px + (e * b + bi) * h
                            for j in 0..<h { dst[j] += w * d[j] }
                        }
                    }
                }
            }
        }
        return dx
    }
}
