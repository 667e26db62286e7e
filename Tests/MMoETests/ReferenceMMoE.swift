import Foundation
@testable import MMoE

/// A plain-loop, Double-precision MMoE with the same parameter names and layout as `MMoEModel`:
/// the model's specification written out the slow, obvious way, for every `ModelKind`.
struct ReferenceMMoE {
    let config: MMoEConfig
    /// Parameter values by name (row-major, shapes as `MMoEModel.parameterSpecs`), plus "embedding".
    var params: [String: [Double]]
    /// Parameter shapes by name.
    let shapes: [String: [Int]]

    init(_ model: MMoEModel) {
        config = model.config
        var p: [String: [Double]] = [:], s: [String: [Int]] = [:]
        for param in model.parameters.parameters {
            p[param.name] = param.value.scalars.map(Double.init)
            s[param.name] = param.shape
        }
        if let e = model.embedding { p["embedding"] = e.value.scalars.map(Double.init) }
        params = p
        shapes = s
    }

    /// y[o] = Σ_i x[i] · W[s, i, o] + b[s, o] for stacked weights `[S, I, O]` (no b when the
    /// parameter has no bias).
    func layer(_ x: [Double], _ name: String, slice s: Int, relu: Bool) -> [Double] {
        let w = params["\(name).weight"]!, shape = shapes["\(name).weight"]!
        precondition(shape[1] == x.count, "\(name): input width \(x.count), weight \(shape)")
        let outWidth = shape[2]
        let bias = params["\(name).bias"]
        var y = [Double](repeating: 0, count: outWidth)
        for o in 0..<outWidth {
            var acc = bias.map { $0[s * outWidth + o] } ?? 0
            for i in 0..<x.count { acc += x[i] * w[(s * x.count + i) * outWidth + o] }
            y[o] = relu ? max(acc, 0) : acc
        }
        return y
    }

    func mlp(_ x: [Double], _ prefix: String, _ layers: Int, slice s: Int, reluOnLast: Bool) -> [Double] {
        var h = x
        for l in 0..<layers { h = layer(h, "\(prefix).layers.\(l)", slice: s, relu: reluOnLast || l < layers - 1) }
        return h
    }

    /// Softmax(MLP_gate(x) · W) of gate slice `s` under `prefix`.
    func gate(_ x: [Double], _ prefix: String, slice s: Int) -> [Double] {
        let g = mlp(x, prefix, config.gateDNN.count, slice: s, reluOnLast: true)
        let z = layer(g, "\(prefix).out", slice: s, relu: false)
        let mx = z.max()!
        let ez = z.map { exp($0 - mx) }
        let total = ez.reduce(0, +)
        return ez.map { $0 / total }
    }

    func mix(_ weights: [Double], _ experts: [[Double]]) -> [Double] {
        var mixed = [Double](repeating: 0, count: experts[0].count)
        for (w, e) in zip(weights, experts) { for j in mixed.indices { mixed[j] += w * e[j] } }
        return mixed
    }

    /// Each task's tower input for one row's input `x`.
    func towerInputs(_ x: [Double]) -> [[Double]] {
        let c = config, t = c.numTasks, relu = c.expertReluOnLast
        func experts(_ x: [Double]) -> [[Double]] {
            (0..<c.numExperts).map { mlp(x, "experts", c.expertDNN.count, slice: $0, reluOnLast: relu) }
        }
        switch c.kind {
        case .mmoe:
            let e = experts(x)
            return (0..<t).map { mix(gate(x, "gates", slice: $0), e) }
        case .omoe:
            let mixed = mix(gate(x, "gates", slice: 0), experts(x))
            return Array(repeating: mixed, count: t)
        case .sharedBottom:
            return Array(repeating: mlp(x, "bottom", c.resolvedBottomDNN.count, slice: 0, reluOnLast: relu), count: t)
        case .singleTask:
            return (0..<t).map { mlp(x, "bottom", c.resolvedBottomDNN.count, slice: $0, reluOnLast: relu) }
        case .simpleMultitask:
            return Array(repeating: x, count: t)
        case .ple:
            var taskIn = Array(repeating: x, count: t), sharedIn = x
            let et = c.taskExperts, layers = c.expertDNN.count
            for level in 0..<c.pleLevels {
                let p = "ple\(level)"
                let own = (0..<t).map { task in
                    (0..<et).map { mlp(taskIn[task], "\(p)_task_experts", layers, slice: task * et + $0, reluOnLast: relu) }
                }
                let shared = (0..<c.sharedExperts).map { mlp(sharedIn, "\(p)_shared_experts", layers, slice: $0, reluOnLast: relu) }
                let next = (0..<t).map { mix(gate(taskIn[$0], "\(p)_task_gates", slice: $0), own[$0] + shared) }
                if c.sharedExperts > 0 && level < c.pleLevels - 1 {
                    sharedIn = mix(gate(sharedIn, "\(p)_shared_gate", slice: 0), own.flatMap { $0 } + shared)
                }
                taskIn = next
            }
            return taskIn
        }
    }

    /// Outputs [T][B] (logits of binary tasks, predictions of regression tasks) for rows given as
    /// dense features `[B][Dd]` and field ids `[B][F]`.
    func logits(dense: [[Double]], ids: [[Int]]) -> [[Double]] {
        let c = config
        var out = [[Double]](repeating: [], count: c.numTasks)
        for b in 0..<dense.count {
            var x: [Double] = []
            for id in ids[b] { x += params["embedding"]![(id * c.embeddingDim)..<((id + 1) * c.embeddingDim)] }
            x += dense[b]
            for (t, h) in towerInputs(x).enumerated() {
                let k = mlp(h, "towers", c.towerDNN.count, slice: t, reluOnLast: true)
                out[t].append(layer(k, "towers.out", slice: t, relu: false)[0])
            }
        }
        return out
    }

    /// Σ_t mean_b loss_t(output, label): BCE of the logit for a binary task, squared error for a
    /// regression task; labels `[T][B]`.
    func loss(dense: [[Double]], ids: [[Int]], labels: [[Double]]) -> Double {
        let z = logits(dense: dense, ids: ids)
        let types = config.resolvedTaskTypes
        var total = 0.0
        for t in z.indices {
            var s = 0.0
            for (x, y) in zip(z[t], labels[t]) {
                s += types[t] == .regression ? (x - y) * (x - y) : max(x, 0) - x * y + log1p(exp(-abs(x)))
            }
            total += s / Double(z[t].count)
        }
        return total
    }
}
