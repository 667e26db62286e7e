import Tensor

/// A Multi-gate Mixture-of-Experts network (Ma et al., KDD 2018) as in the OneFlow example:
///
///     x        = concat(flattened field embeddings, dense features)        [B, D]
///     experts  = MLP_e(x) for each expert e, run as one batched GEMM        [E, B, H]
///     gate_t   = softmax(MLP_gate_t(x) · W_t)   (W_t without bias)          [T, B, E]
///     mix_t    = Σ_e gate_t[:, e] · experts[e]                              [T, B, H]
///     logit_t  = MLP_tower_t(mix_t) · w_t + b_t                             [T, B]
///
/// Experts, gates and towers each keep their weights stacked (`[E, ...]`, `[T, ...]`) so each layer
/// is one batched GEMM however many experts or tasks there are.
///
/// The same class builds the baselines `ModelKind` names, stacked the same way: `omoe` (the experts
/// and one gate, `[1, ...]`, whose mixture every tower reads), `shared_bottom` (one bottom MLP,
/// `bottom.*` `[1, ...]`), `single_task` (a bottom MLP per task, `bottom.*` `[T, ...]`),
/// `simple_multitask` (towers on the input) and `ple` (`MMoEModel+PLE.swift`). Bottoms and PLE
/// experts are built as the experts are: ReLU between layers, after the last only with
/// `expertReluOnLast`.
public final class MMoEModel {
    /// The configuration the model was built from.
    public let config: MMoEConfig
    /// Dense weights and biases in one flat buffer (see `parameterSpecs` for names and shapes).
    public let parameters: ParameterStore
    /// The fused `[V, embeddingDim]` table of all sparse fields; nil when the data has none, or
    /// when the rows live in an embedding store instead (`embeddingTable: false`).
    public let embedding: EmbeddingTable?
    /// The generator right after the dense weights were drawn: the model's table draws its initial
    /// values from it, so an embedding store standing in for the table draws the very same ones.
    public let embeddingRNG: SeededRNG

    let layers: Layers

    /// The named views of `parameters`, grouped by layer.
    struct Layers {
        let experts: [(weight: Parameter, bias: Parameter)]
        let gates: [(weight: Parameter, bias: Parameter)]
        /// nil for `simple_multitask`, which has no gates.
        let gateOut: (weight: Parameter, bias: Parameter?)?
        let towers: [(weight: Parameter, bias: Parameter)]
        let towerOut: (weight: Parameter, bias: Parameter)
        /// `shared_bottom` (stack 1) and `single_task` (stack T); empty otherwise.
        let bottom: [(weight: Parameter, bias: Parameter)]
        /// `ple`'s levels; empty otherwise.
        let ple: [PLELevel]

        init(_ store: ParameterStore, _ config: MMoEConfig) {
            func mlp(_ prefix: String, _ count: Int) -> [(weight: Parameter, bias: Parameter)] {
                (0..<count).map { (store["\(prefix).layers.\($0).weight"]!, store["\(prefix).layers.\($0).bias"]!) }
            }
            let mixture = config.kind.hasExpertBank
            experts = mixture ? mlp("experts", config.expertDNN.count) : []
            gates = mixture ? mlp("gates", config.gateDNN.count) : []
            gateOut = store["gates.out.weight"].map { ($0, store["gates.out.bias"]) }
            towers = mlp("towers", config.towerDNN.count)
            towerOut = (store["towers.out.weight"]!, store["towers.out.bias"]!)
            bottom = config.kind.hasBottom ? mlp("bottom", config.resolvedBottomDNN.count) : []
            ple = config.kind == .ple ? (0..<config.pleLevels).map { PLELevel(store, config, level: $0) } : []
        }
    }

    /// Names and shapes of the dense parameters, in storage order.
    public static func parameterSpecs(_ c: MMoEConfig) -> [(name: String, shape: [Int])] {
        var specs: [(name: String, shape: [Int])] = []
        func mlp(_ prefix: String, _ stack: Int, _ widths: [Int]) {
            for l in 1..<widths.count {
                specs.append(("\(prefix).layers.\(l - 1).weight", [stack, widths[l - 1], widths[l]]))
                specs.append(("\(prefix).layers.\(l - 1).bias", [stack, widths[l]]))
            }
        }
        let d = c.inputWidth, e = c.numExperts, t = c.numTasks
        // simple_multitask: the towers read the input directly.
        var h = d
        switch c.kind {
        case .mmoe, .omoe:
            // omoe: one gate, stacked as a single slice.
            let g = c.kind == .mmoe ? t : 1
            mlp("experts", e, [d] + c.expertDNN)
            mlp("gates", g, [d] + c.gateDNN)
            specs.append(("gates.out.weight", [g, c.gateDNN.last ?? d, e]))
            if c.gateBias { specs.append(("gates.out.bias", [g, e])) }
            h = c.expertDNN.last!
        case .sharedBottom, .singleTask:
            mlp("bottom", c.kind == .sharedBottom ? 1 : t, [d] + c.resolvedBottomDNN)
            h = c.resolvedBottomDNN.last!
        case .ple:
            specs += pleParameterSpecs(c)
            h = c.expertDNN.last!
        case .simpleMultitask:
            break
        }
        mlp("towers", t, [h] + c.towerDNN)
        specs.append(("towers.out.weight", [t, c.towerDNN.last ?? h, 1]))
        specs.append(("towers.out.bias", [t, 1]))
        return specs
    }

    /// Builds the network with the reference initialisation: embeddings N(0, 1e-4²), every
    /// weight Xavier-normal (std = sqrt(2 / (fan_in + fan_out)) per expert or task slice), biases 0.
    /// `embeddingTable: false` builds no embedding table (the dense weights are the same): the rows
    /// then live in an `EmbeddingStore`, whose working table is passed to `logits`.
    public init(_ config: MMoEConfig, seed: UInt64, embeddingTable: Bool = true) throws(MMoEConfigError) {
        try config.validate()
        if embeddingTable {
            try MemoryEstimate.check(.network(config, embeddingTable: true), what: "the network with its embedding table",
                                     advice: "reduce the table sizes (--table_size_array) or --embedding_vec_size")
        }
        self.config = config
        let store = ParameterStore(Self.parameterSpecs(config))
        parameters = store
        var rng = SeededRNG(seed: seed, stream: .initialisation)
        for p in store.parameters where p.name.hasSuffix(".weight") {
            let fanIn = p.shape[1], fanOut = p.shape[2]
            let std = (2 / Float(fanIn + fanOut)).squareRoot()
            p.value.assign(Tensor(shape: p.shape, scalars: (0..<p.value.count).map { _ in std * rng.nextNormal() }))
        }
        embeddingRNG = rng
        if config.fieldCount > 0 && embeddingTable {
            let v = config.fieldRows.reduce(0, +)
            let values = (0..<(v * config.embeddingDim)).map { _ in 1e-4 * rng.nextNormal() }
            embedding = EmbeddingTable(name: "embedding", value: Tensor(shape: [v, config.embeddingDim], scalars: values))
        } else {
            embedding = nil
        }
        layers = Layers(store, config)
    }

    /// A model that computes with `source`'s values (the same storage: every update to them is
    /// seen) but accumulates gradients into buffers of its own: one batch shard's view of the model
    /// in data-parallel training.
    public init(sharingValuesOf source: MMoEModel) {
        config = source.config
        parameters = ParameterStore(sharingValuesOf: source.parameters)
        embedding = source.embedding.map { EmbeddingTable(sharingValueOf: $0) }
        embeddingRNG = source.embeddingRNG
        layers = Layers(parameters, config)
        fuseEmbeddingLookups = source.fuseEmbeddingLookups
    }

    /// Whether the sparse fields are looked up in one embedding-bag op over the fused table
    /// (DeepRec's `--emb_fusion`, the default) or in one op per field, joined by a concat. Both read
    /// the same rows and give the same values and gradients.
    public var fuseEmbeddingLookups = true

    /// `input` over the model's own table.
    func input(_ batch: Batch, tape: Tape) -> Variable { input(batch, tape: tape, table: embedding) }

    /// The concatenated input `[B, D]`: each field's embedding (the mean of its bag's rows, or
    /// their sum for a field `config.fieldCombiners` sums; a bag of one id is that row, an empty
    /// bag a zero vector), flattened, then the dense features.
    /// `table` is the model's own table, or a store's working table the batch's ids index; with
    /// `batch.pairedIds` each id reads the product of its two rows.
    func input(_ batch: Batch, tape: Tape, table: EmbeddingTable?) -> Variable {
        let b = batch.size, c = config, f = c.fieldCount
        let dense = tape.constant(batch.dense)
        guard let table else {
            precondition(f == 0, "MMoEModel: \(f) sparse fields but no embedding table (the model was built without one: pass a store's working table)")
            return dense
        }
        let combiners = c.resolvedFieldCombiners
        func lookup(_ ids: [Int32], _ paired: [Int32]?, _ offsets: [Int32], _ combiners: [EmbeddingCombiner]) -> Variable {
            guard let paired else { return tape.embeddingBag(table, ids: ids, offsets: offsets, combiners: combiners) }
            return tape.embeddingBagProduct(table, ids: ids, pairedIds: paired, offsets: offsets, combiners: combiners)
        }
        let offsets = batch.bagOffsets ?? (0...(b * f)).map { Int32($0) }
        precondition(offsets.count == b * f + 1, "MMoEModel: batch has \(offsets.count - 1) bags, expected \(b) x \(f)")
        let emb: Variable
        if fuseEmbeddingLookups || f == 1 {
            emb = lookup(batch.ids, batch.pairedIds, offsets, combiners).reshaped([b, f * c.embeddingDim])
        } else {
            emb = concat((0..<f).map { field in
                var ids: [Int32] = [], paired: [Int32]? = batch.pairedIds == nil ? nil : [], fieldOffsets: [Int32] = [0]
                for r in 0..<b {
                    let bag = Int(offsets[r * f + field])..<Int(offsets[r * f + field + 1])
                    ids += batch.ids[bag]
                    if let all = batch.pairedIds { paired! += all[bag] }
                    fieldOffsets.append(Int32(ids.count))
                }
                return lookup(ids, paired, fieldOffsets, [combiners[field]])
            }, axis: 1)
        }
        return c.denseWidth == 0 ? emb : concat([emb, dense], axis: 1)
    }

    /// Logits `[T, B]`. In training, dropout follows every hidden ReLU layer (masks drawn from `rng`).
    /// `embedding`: the table the batch's ids index, when not the model's own (an embedding store's
    /// working table).
    public func logits(_ batch: Batch, tape: Tape, training: Bool, rng: inout SeededRNG, embedding table: EmbeddingTable? = nil) -> Variable {
        let x = input(batch, tape: tape, table: table ?? embedding)
        func mlp(_ h: Variable, _ layers: [(weight: Parameter, bias: Parameter)], reluOnLast: Bool, rng: inout SeededRNG) -> Variable {
            self.mlp(h, layers, reluOnLast: reluOnLast, training: training, tape: tape, rng: &rng)
        }
        var towerInput: Variable
        if config.kind == .ple {
            towerInput = pleOutput(x, training: training, tape: tape, rng: &rng)                   // [T, B, H]
        } else if config.kind.hasBottom {
            towerInput = mlp(x, layers.bottom, reluOnLast: config.expertReluOnLast, rng: &rng)    // [1 or T, B, H]
            if config.kind == .sharedBottom { towerInput = towerInput.reshaped([batch.size, towerInput.shape[2]]) }
        } else if layers.gateOut != nil {
            // Experts: ReLU between layers; after the last only in DeepRec's form (OneFlow's
            // reference skips the final activation).
            let experts = mlp(x, layers.experts, reluOnLast: config.expertReluOnLast, rng: &rng)   // [E, B, H]
            let gates = gates(x, training: training, tape: tape, rng: &rng)!                        // [T or 1, B, E]
            towerInput = gatedMixture(gates: gates, experts: experts)                               // [T, B, H]
            // omoe's one gate gives one mixture, [1, B, H], which every tower reads.
            if config.kind == .omoe { towerInput = towerInput.reshaped([batch.size, towerInput.shape[2]]) }
        } else {
            towerInput = x                                                                           // [B, D], shared by the towers
        }
        let tower = mlp(towerInput, layers.towers, reluOnLast: true, rng: &rng) // [T, B, K]
        let towerOut = layers.towerOut
        let out = tower.linear(tape.parameter(towerOut.weight), tape.parameter(towerOut.bias)) // [T, B, 1]
        return out.reshaped([config.numTasks, batch.size])
    }

    /// Each task's softmax gate over the experts `[T, B, E]` for the input `x` `[B, D]`; nil for a
    /// model without gates. `logits` mixes the experts with it; `gateWeights` reports it.
    func gates(_ x: Variable, training: Bool, tape: Tape, rng: inout SeededRNG) -> Variable? {
        guard let gateOut = layers.gateOut else { return nil }
        let gateHidden = mlp(x, layers.gates, reluOnLast: true, training: training, tape: tape, rng: &rng) // [B, D] or [T, B, G]
        return gateHidden.linear(tape.parameter(gateOut.weight), gateOut.bias.map { tape.parameter($0) })
            .softmax(axis: -1)                                                                           // [T, B, E]
    }

    /// Σ over tasks of each task's mean loss (the reference adds the per-task losses): BCE-with-logits
    /// for a binary task, MSE of the raw output for a regression task.
    public func loss(logits: Variable, labels: Tensor) -> Variable {
        let types = config.resolvedTaskTypes
        guard types.allSatisfy({ $0 == .binary }) else { return logits.taskLossSum(labels, regression: types.map { $0 == .regression }) }
        return logits.bceWithLogits(labels).scaled(by: Float(config.numTasks))
    }

    /// A stack of dense layers: ReLU after each but the last (and after the last with `reluOnLast`),
    /// dropout after every ReLU in training.
    func mlp(_ h: Variable, _ layers: [(weight: Parameter, bias: Parameter)], reluOnLast: Bool, training: Bool, tape: Tape,
             rng: inout SeededRNG) -> Variable {
        var h = h
        for (i, layer) in layers.enumerated() {
            let hidden = reluOnLast || i < layers.count - 1
            h = h.linear(tape.parameter(layer.weight), tape.parameter(layer.bias), activation: hidden ? .relu : .none)
            if hidden { h = h.dropout(rate: config.dropout, training: training, rng: &rng) }
        }
        return h
    }

    /// Dense parameters plus embedding rows.
    public var parameterCount: Int { parameters.count + (embedding.map { $0.rows * $0.dim } ?? 0) }
}
