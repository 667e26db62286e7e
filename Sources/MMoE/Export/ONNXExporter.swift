import Foundation
import Tensor

/// Exporting a trained model as a self-contained ONNX graph (`mmoe-export`), for serving in
/// onnxruntime, Triton or any other ONNX runtime.
///
/// The graph is the eval-mode forward pass of `MMoEModel.logits`, op for op: the fused embedding
/// table is one `Gather` over `sparse_ids` (fused-table rows, as the model's lookup reads them);
/// bag fields (`tag_ids`, padded with -1) are gathered with the padding masked out and summed, then
/// divided by their length for mean-combined fields (an empty bag is a zero vector), as training's
/// embedding bag does; the field embeddings are put
/// back in the model's field order, flattened and joined with `dense`. Experts, gates, bottoms and
/// towers keep the trainer's stacked weights (`[E, in, out]`, `[T, in, out]`), so each layer of a
/// whole bank is one batched `MatMul` plus one `Add`, and the gate mixture is one `MatMul` per
/// level. Each task's output is a `[batch]` float tensor named after the task: the probability
/// (`Sigmoid` of the logit) for a binary task, the raw value for a regression task, exactly what
/// `mmoe-predict` writes. Initializers are named after the model's parameters
/// (`experts.layers.0.weight` `[E, D, H]`; biases `[S, 1, out]`), the table `embedding` `[V, d]`.
///
/// Every `ModelKind` is exported. A model whose rows live in an embedding store exports that
/// store's rows (`ExportedTable`: a fixed store as the fused table; a `--ev` store's held rows with
/// an `ai.onnx.ml` `LabelEncoder` from raw keys to rows); adaptive and multihash stores are refused.
public struct ONNXExporter {
    public let model: MMoEModel
    public let layout: ServingLayout
    public let taskNames: [String]
    /// The embedding rows the graph holds.
    public let table: ExportedTable?
    /// Also output each task's softmax gate, `<task>_gate` `[batch, E]` (PLE: one per level,
    /// `<task>_gate<level>` `[batch, Et + Es]`).
    public var withGates = false

    /// `table`: the rows, when they are not the model's own table (an embedding store's).
    public init(model: MMoEModel, layout: ServingLayout, taskNames: [String], withGates: Bool = false, table: ExportedTable? = nil) {
        self.model = model
        self.table = table ?? model.embedding.map(ExportedTable.init)
        self.layout = layout
        self.taskNames = taskNames
        self.withGates = withGates
    }

    /// The model as an ONNX model; throws when it cannot be exported.
    public func build() throws(ONNXExportError) -> ONNX.Model {
        let c = model.config
        guard taskNames.count == c.numTasks else { throw ONNXExportError("\(taskNames.count) task names for \(c.numTasks) tasks") }
        guard layout.fieldNames == c.fieldNames, layout.denseWidth == c.denseWidth else {
            throw ONNXExportError("the serving layout (\(layout.fieldNames), \(layout.denseWidth) dense) does not match the model")
        }
        if c.fieldCount > 0 && table == nil {
            throw ONNXExportError("the model's embedding rows live in an embedding store; pass its rows (ExportedTable)")
        }
        if let table, table.dim != c.embeddingDim || (table.keys != nil) != layout.keyed {
            throw ONNXExportError("the exported table (\(table.rows) x \(table.dim), \(table.keys == nil ? "by row" : "by key")) does not fit the model and layout")
        }
        if withGates && !c.kind.hasGates {
            throw ONNXExportError("--with_gates: a \(c.kind.rawValue) model has no gates")
        }
        let reserved = Set(layout.inputNames)
        for name in taskNames where reserved.contains(name) || name.isEmpty || name.hasPrefix("/") {
            throw ONNXExportError("task name \"\(name)\" cannot name a graph output (it is empty, an input's name, or starts with /)")
        }

        var g = ONNXGraphBuilder()
        var inputs: [ONNX.ValueInfo] = []
        var outputs: [ONNX.ValueInfo] = []
        let x = input(&g, &inputs)

        // The tower input, [T, B, H] or [B, H] (shared by every tower).
        var towerIn: String
        var gateOutputs: [(name: String, value: String, width: Int)] = []
        switch c.kind {
        case .mmoe, .omoe:
            let experts = mlp(&g, x, model.layers.experts, reluOnLast: c.expertReluOnLast)          // [E, B, H]
            let gates = gate(&g, x, model.layers.gates, model.layers.gateOut!)                         // [T or 1, B, E]
            towerIn = mixture(&g, gates: gates, experts: experts)                                      // [T or 1, B, H]
            if c.kind == .omoe { towerIn = g.squeeze(towerIn, axis: 0) }                               // [B, H]
            for t in 0..<c.numTasks where withGates {
                gateOutputs.append(("\(taskNames[t])_gate", g.gather(gates, g.int64s([], [Int64(c.kind == .omoe ? 0 : t)]), axis: 0), c.numExperts))
            }
        case .sharedBottom:
            towerIn = g.squeeze(mlp(&g, x, model.layers.bottom, reluOnLast: c.expertReluOnLast), axis: 0)  // [B, H]
        case .singleTask:
            towerIn = mlp(&g, x, model.layers.bottom, reluOnLast: c.expertReluOnLast)                   // [T, B, H]
        case .simpleMultitask:
            towerIn = x                                                                                // [B, D]
        case .ple:
            towerIn = ple(&g, x, gateOutputs: &gateOutputs)                                            // [T, B, H]
        }

        let tower = mlp(&g, towerIn, model.layers.towers, reluOnLast: true)                            // [T, B, K]
        let out = linear(&g, tower, model.layers.towerOut.weight, model.layers.towerOut.bias)          // [T, B, 1]
        let logits = g.squeeze(out, axis: 2)                                                           // [T, B]
        for (t, type) in c.resolvedTaskTypes.enumerated() {
            let logit = g.gather(logits, g.int64s([], [Int64(t)]), axis: 0)                            // [B]
            g.op(type == .binary ? "Sigmoid" : "Identity", [logit], output: taskNames[t])
            outputs.append(ONNX.ValueInfo(name: taskNames[t], type: .float, shape: [.symbolic("batch")]))
        }
        if withGates {
            for gate in gateOutputs {
                g.op("Identity", [gate.value], output: gate.name)
                outputs.append(ONNX.ValueInfo(name: gate.name, type: .float, shape: [.symbolic("batch"), .fixed(gate.width)]))
            }
        }
        var opsets: [(domain: String, version: Int64)] = [("", ONNX.opsetVersion)]
        if layout.keyed { opsets.append(("ai.onnx.ml", ONNX.mlOpsetVersion)) }
        let doc = "mmoe-swift \(c.kind.rawValue) model: tasks \(taskNames.joined(separator: ", ")); inputs \(layout.inputNames.joined(separator: ", "))"
        return ONNX.Model(graphName: "mmoe_\(c.kind.rawValue)", docString: doc, nodes: g.nodes, initializers: g.initializers,
                          inputs: inputs, outputs: outputs, opsets: opsets)
    }

    /// The graph inputs and the concatenated model input `[B, D]` built from them.
    private func input(_ g: inout ONNXGraphBuilder, _ inputs: inout [ONNX.ValueInfo]) -> String {
        let c = model.config, dim = c.embeddingDim
        var parts: [String] = []
        if c.fieldCount > 0, let table {
            let tableName = g.floats("embedding", [table.rows, table.dim], table.values)
            // Keys to rows (a keyed table): held keys to their rows, any other to the zero row.
            func rows(_ keys: String) -> String {
                guard let held = table.keys else { return keys }
                return g.op("LabelEncoder", [keys], [.ints("keys_int64s", held.map { Int64(bitPattern: $0) }),
                                                     .ints("values_int64s", held.indices.map(Int64.init)),
                                                     .int("default_int64", Int64(held.count))], domain: "ai.onnx.ml")
            }
            var pieces: [String] = []   // [B, n, d], single fields then bag fields
            if !layout.singleFields.isEmpty {
                let name = layout.sparseName
                inputs.append(ONNX.ValueInfo(name: name, type: .int64, shape: [.symbolic("batch"), .fixed(layout.singleFields.count)]))
                pieces.append(g.gather(tableName, rows(name), axis: 0))                             // [B, Fs, d]
            }
            if !layout.bagFields.isEmpty {
                let name = layout.tagName
                inputs.append(ONNX.ValueInfo(name: name, type: .int64,
                                             shape: [.symbolic("batch"), .fixed(layout.bagFields.count), .symbolic("tag_length")]))
                // Padding (any negative id; the key -1) reads some row and is multiplied by 0; the
                // mean divides by the bag's real length, at least 1, so an empty bag is a zero vector.
                let zero = g.int64s([], [0])
                let padding = layout.keyed ? g.op("Equal", [name, g.int64s([], [-1])]) : g.op("Less", [name, zero])
                let present = g.op("Cast", [g.op("Not", [padding])], [.int("to", Int64(ONNX.DataType.float.rawValue))]) // [B, Ft, L]
                let rows = g.gather(tableName, layout.keyed ? rows(name) : g.op("Max", [name, zero]), axis: 0) // [B, Ft, L, d]
                let sum = g.reduceSum(g.op("Mul", [rows, g.unsqueeze(present, axis: 3)]), axis: 2, keepDims: false) // [B, Ft, d]
                let summed = layout.bagFields.map { c.resolvedFieldCombiners[$0] == .sum }
                if summed.allSatisfy({ $0 }) {
                    pieces.append(sum)                                                                // [B, Ft, d]
                } else {
                    var length = g.reduceSum(present, axis: 2, keepDims: true)                        // [B, Ft, 1]
                    if summed.contains(true) {
                        // A summed field's length is taken as 0 (then 1 below): it is not divided.
                        length = g.op("Mul", [length, g.floats("/bag_is_mean", [summed.count, 1], summed.map { $0 ? 0 : 1 })])
                    }
                    pieces.append(g.op("Div", [sum, g.op("Max", [length, g.scalar(1)])]))           // [B, Ft, d]
                }
            }
            var fields = g.concat(pieces, axis: 1)                                                    // [B, F, d]
            let order = layout.singleFields + layout.bagFields
            if order != Array(0..<c.fieldCount) {
                // Back to the model's field order: field f sits at position order.firstIndex(of: f).
                let position = (0..<c.fieldCount).map { Int64(order.firstIndex(of: $0)!) }
                fields = g.gather(fields, g.int64s([c.fieldCount], position), axis: 1)
            }
            parts.append(g.reshape(fields, [0, Int64(c.fieldCount * dim)]))                          // [B, F·d]
        }
        if c.denseWidth > 0 {
            inputs.append(ONNX.ValueInfo(name: "dense", type: .float, shape: [.symbolic("batch"), .fixed(c.denseWidth)]))
            parts.append("dense")
        }
        return g.concat(parts, axis: 1)                                                               // [B, D]
    }

    /// `h · W + b` for stacked `W` `[S, in, out]` and `b` `[S, out]` (stored `[S, 1, out]` so it
    /// broadcasts over the batch): `h` `[B, in]` or `[S, B, in]` gives `[S, B, out]`.
    private func linear(_ g: inout ONNXGraphBuilder, _ h: String, _ weight: Parameter, _ bias: Parameter?) -> String {
        let w = g.floats(weight.name, weight.shape, weight.value.scalars)
        var out = g.op("MatMul", [h, w])
        if let bias {
            let b = g.floats(bias.name, [bias.shape[0], 1, bias.shape[1]], bias.value.scalars)
            out = g.op("Add", [out, b])
        }
        return out
    }

    /// `MMoEModel.mlp` in eval mode: ReLU after every layer but the last (and after it with `reluOnLast`).
    private func mlp(_ g: inout ONNXGraphBuilder, _ x: String, _ layers: [(weight: Parameter, bias: Parameter)], reluOnLast: Bool) -> String {
        var h = x
        for (i, layer) in layers.enumerated() {
            h = linear(&g, h, layer.weight, layer.bias)
            if reluOnLast || i < layers.count - 1 { h = g.op("Relu", [h]) }
        }
        return h
    }

    /// A softmax gate: its hidden MLP (ReLU on every layer), the linear map to the experts, softmax.
    private func gate(_ g: inout ONNXGraphBuilder, _ x: String, _ hidden: [(weight: Parameter, bias: Parameter)],
                      _ out: (weight: Parameter, bias: Parameter?)) -> String {
        let h = mlp(&g, x, hidden, reluOnLast: true)
        return g.op("Softmax", [linear(&g, h, out.weight, out.bias)], [.int("axis", -1)])            // [S, B, E]
    }

    /// `gatedMixture`: gates `[S, B, E]` over experts `[E, B, H]` -> `[S, B, H]`, as one batched
    /// MatMul over the batch: `[B, S, E] · [B, E, H]`.
    private func mixture(_ g: inout ONNXGraphBuilder, gates: String, experts: String) -> String {
        let mixed = g.op("MatMul", [g.transpose(gates, [1, 0, 2]), g.transpose(experts, [1, 0, 2])])  // [B, S, H]
        return g.transpose(mixed, [1, 0, 2])
    }

    /// `MMoEModel.pleOutput`: the last level's task mixtures `[T, B, H]`.
    private func ple(_ g: inout ONNXGraphBuilder, _ x: String, gateOutputs: inout [(name: String, value: String, width: Int)]) -> String {
        let c = model.config, t = c.numTasks, et = c.taskExperts, h = c.expertDNN.last!
        let routes = MMoEModel.pleRoutes(c)
        let routeTensor = g.int64s([t, routes[0].count], routes.flatMap { $0.map(Int64.init) })
        var taskIn = x, sharedIn = x, taskInStacked = false
        for (level, layers) in model.layers.ple.enumerated() {
            var expertIn = taskIn
            if taskInStacked && et > 1 {
                // Task t's Et experts all read in_t: [T, B, H] -> [T, Et, B, H] -> [T·Et, B, H].
                let repeated = g.op("Expand", [g.unsqueeze(taskIn, axis: 1), g.int64s([4], [1, Int64(et), 1, 1])])
                expertIn = g.reshape(repeated, [Int64(t * et), -1, Int64(h)])
            }
            var experts = mlp(&g, expertIn, layers.taskExperts, reluOnLast: c.expertReluOnLast)        // [T·Et, B, H]
            if !layers.sharedExperts.isEmpty {
                experts = g.concat([experts, mlp(&g, sharedIn, layers.sharedExperts, reluOnLast: c.expertReluOnLast)], axis: 0)
            }                                                                                            // [T·Et + Es, B, H]
            let taskGates = gate(&g, taskIn, layers.taskGates, layers.taskGateOut)                       // [T, B, K]
            for task in 0..<t where withGates {
                gateOutputs.append(("\(taskNames[task])_gate\(level)", g.gather(taskGates, g.int64s([], [Int64(task)]), axis: 0), routes[0].count))
            }
            // routedMixture: task t mixes experts routes[t] -> [T, K, B, H] -> [T, B, K, H].
            let routed = g.transpose(g.gather(experts, routeTensor, axis: 0), [0, 2, 1, 3])
            let taskOut = g.squeeze(g.op("MatMul", [g.unsqueeze(taskGates, axis: 2), routed]), axis: 2) // [T, B, H]
            if let shared = layers.sharedGate, level < c.pleLevels - 1 {
                let sharedGates = gate(&g, sharedIn, shared.hidden, shared.out)                          // [1, B, T·Et + Es]
                sharedIn = g.squeeze(mixture(&g, gates: sharedGates, experts: experts), axis: 0)         // [B, H]
            }
            taskIn = taskOut
            taskInStacked = true
        }
        return taskIn
    }
}

/// Why a model could not be exported.
public struct ONNXExportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
