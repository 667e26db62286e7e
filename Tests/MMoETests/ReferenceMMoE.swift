import Foundation
@testable import MMoE

/// A plain-loop, Double-precision MMoE with the same parameter names and layout as `MMoEModel`:
/// the model's specification written out the slow, obvious way.
struct ReferenceMMoE {
    let config: MMoEConfig
    /// Parameter values by name (row-major, shapes as `MMoEModel.parameterSpecs`), plus "embedding".
    var params: [String: [Double]]

    init(_ model: MMoEModel) {
        config = model.config
        var p: [String: [Double]] = [:]
        for param in model.parameters.parameters { p[param.name] = param.value.scalars.map(Double.init) }
        if let e = model.embedding { p["embedding"] = e.value.scalars.map(Double.init) }
        params = p
    }

    /// y[o] = Σ_i x[i] · W[s, i, o] + b[s, o] for stacked weights `[S, I, O]`.
    func layer(_ x: [Double], _ name: String, slice s: Int, bias: Bool, relu: Bool) -> [Double] {
        let w = params["\(name).weight"]!
        let outWidth = w.count / (stackCount(name) * x.count)
        var y = [Double](repeating: 0, count: outWidth)
        for o in 0..<outWidth {
            var acc = bias ? params["\(name).bias"]![s * outWidth + o] : 0
            for i in 0..<x.count { acc += x[i] * w[(s * x.count + i) * outWidth + o] }
            y[o] = relu ? max(acc, 0) : acc
        }
        return y
    }

    func stackCount(_ name: String) -> Int { name.hasPrefix("experts") ? config.numExperts : config.numTasks }

    func mlp(_ x: [Double], _ prefix: String, _ layers: Int, slice s: Int, reluOnLast: Bool) -> [Double] {
        var h = x
        for l in 0..<layers { h = layer(h, "\(prefix).layers.\(l)", slice: s, bias: true, relu: reluOnLast || l < layers - 1) }
        return h
    }

    /// Logits [T][B] for rows given as dense features `[B][Dd]` and field ids `[B][F]`.
    func logits(dense: [[Double]], ids: [[Int]]) -> [[Double]] {
        let c = config
        var out = [[Double]](repeating: [], count: c.numTasks)
        for b in 0..<dense.count {
            var x: [Double] = []
            for id in ids[b] { x += params["embedding"]![(id * c.embeddingDim)..<((id + 1) * c.embeddingDim)] }
            x += dense[b]
            let experts = (0..<c.numExperts).map { mlp(x, "experts", c.expertDNN.count, slice: $0, reluOnLast: false) }
            for t in 0..<c.numTasks {
                let g = mlp(x, "gates", c.gateDNN.count, slice: t, reluOnLast: true)
                let z = layer(g, "gates.out", slice: t, bias: false, relu: false)
                let mx = z.max()!
                let ez = z.map { exp($0 - mx) }
                let gate = ez.map { $0 / ez.reduce(0, +) }
                var mixed = [Double](repeating: 0, count: experts[0].count)
                for e in 0..<c.numExperts { for j in mixed.indices { mixed[j] += gate[e] * experts[e][j] } }
                let k = mlp(mixed, "towers", c.towerDNN.count, slice: t, reluOnLast: true)
                out[t].append(layer(k, "towers.out", slice: t, bias: true, relu: false)[0])
            }
        }
        return out
    }

    /// Σ_t mean_b BCE(logit, label); labels `[T][B]`.
    func loss(dense: [[Double]], ids: [[Int]], labels: [[Double]]) -> Double {
        let z = logits(dense: dense, ids: ids)
        var total = 0.0
        for t in z.indices {
            var s = 0.0
            for (x, y) in zip(z[t], labels[t]) { s += max(x, 0) - x * y + log1p(exp(-abs(x))) }
            total += s / Double(z[t].count)
        }
        return total
    }
}
