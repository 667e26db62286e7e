import Tensor

/// Progressive Layered Extraction (Tang et al., RecSys 2020), `--model ple`.
///
/// Each of the L levels has, per task, Et experts of its own and Es shared experts (all sized
/// `expertDNN`). Task t's gate at a level mixes its own experts and the shared ones; for every level
/// but the last, a shared gate mixes all T·Et + Es experts to feed the next level's shared experts.
/// Every branch reads the previous level's output of its own kind (task t's mixture, or the shared
/// mixture), gate and experts alike; level 0 reads the input. The last level's task mixtures go to
/// the towers:
///
///     level l:  in_t (task t), in_s (shared)                  [B, D] at level 0, [B, H] after
///     task experts   = MLP(in_t) for each of task t's Et      [T·Et, B, H]  (one batched GEMM per layer)
///     shared experts = MLP(in_s)                              [Es, B, H]
///     gate_t  = softmax(MLP_gate_t(in_t) · W_t)               [T, B, Et + Es]
///     out_t   = Σ gate_t · (task t's experts, shared experts)  [T, B, H]   -> in_t of level l + 1
///     gate_s  = softmax(MLP_gate_s(in_s) · W_s)               [1, B, T·Et + Es]
///     out_s   = Σ gate_s · (all experts)                      [B, H]      -> in_s of level l + 1
///
/// Parameters of level l are named `pleL_task_experts.*` (`[T·Et, ...]`, task t's experts at
/// t·Et ..< (t+1)·Et), `pleL_shared_experts.*` (`[Es, ...]`), `pleL_task_gates.*` (`[T, ...]`,
/// output width Et + Es: own experts first, then the shared ones) and `pleL_shared_gate.*`
/// (`[1, ...]`, over the task experts in order, then the shared ones). With Es = 0 there are no
/// shared experts or shared gates, and each task is a model of its own.
extension MMoEModel {
    /// The dense layers of one PLE level.
    struct PLELevel {
        let taskExperts: [(weight: Parameter, bias: Parameter)]
        let sharedExperts: [(weight: Parameter, bias: Parameter)]
        let taskGates: [(weight: Parameter, bias: Parameter)]
        let taskGateOut: (weight: Parameter, bias: Parameter?)
        /// nil at the last level and without shared experts.
        let sharedGate: (hidden: [(weight: Parameter, bias: Parameter)], out: (weight: Parameter, bias: Parameter?))?

        init(_ store: ParameterStore, _ config: MMoEConfig, level: Int) {
            func mlp(_ prefix: String, _ count: Int) -> [(weight: Parameter, bias: Parameter)] {
                (0..<count).map { (store["\(prefix).layers.\($0).weight"]!, store["\(prefix).layers.\($0).bias"]!) }
            }
            let p = "ple\(level)"
            taskExperts = mlp("\(p)_task_experts", config.expertDNN.count)
            sharedExperts = config.sharedExperts > 0 ? mlp("\(p)_shared_experts", config.expertDNN.count) : []
            taskGates = mlp("\(p)_task_gates", config.gateDNN.count)
            taskGateOut = (store["\(p)_task_gates.out.weight"]!, store["\(p)_task_gates.out.bias"])
            sharedGate = store["\(p)_shared_gate.out.weight"].map { w in
                (mlp("\(p)_shared_gate", config.gateDNN.count), (w, store["\(p)_shared_gate.out.bias"]))
            }
        }
    }

    /// Names and shapes of PLE's expert and gate parameters, level by level (the towers follow).
    static func pleParameterSpecs(_ c: MMoEConfig) -> [(name: String, shape: [Int])] {
        var specs: [(name: String, shape: [Int])] = []
        func mlp(_ prefix: String, _ stack: Int, _ widths: [Int]) {
            for l in 1..<widths.count {
                specs.append(("\(prefix).layers.\(l - 1).weight", [stack, widths[l - 1], widths[l]]))
                specs.append(("\(prefix).layers.\(l - 1).bias", [stack, widths[l]]))
            }
        }
        func gate(_ prefix: String, _ stack: Int, input: Int, experts: Int) {
            mlp(prefix, stack, [input] + c.gateDNN)
            specs.append(("\(prefix).out.weight", [stack, c.gateDNN.last ?? input, experts]))
            if c.gateBias { specs.append(("\(prefix).out.bias", [stack, experts])) }
        }
        let t = c.numTasks, et = c.taskExperts, es = c.sharedExperts
        for level in 0..<c.pleLevels {
            let p = "ple\(level)", input = level == 0 ? c.inputWidth : c.expertDNN.last!
            mlp("\(p)_task_experts", t * et, [input] + c.expertDNN)
            if es > 0 { mlp("\(p)_shared_experts", es, [input] + c.expertDNN) }
            gate("\(p)_task_gates", t, input: input, experts: et + es)
            if es > 0 && level < c.pleLevels - 1 { gate("\(p)_shared_gate", 1, input: input, experts: t * et + es) }
        }
        return specs
    }

    /// For each task, the experts its gate mixes, as indices into the task experts followed by the
    /// shared ones: its own Et, then the Es shared.
    static func pleRoutes(_ c: MMoEConfig) -> [[Int]] {
        let et = c.taskExperts, shared = Array((c.numTasks * et)..<(c.numTasks * et + c.sharedExperts))
        return (0..<c.numTasks).map { Array(($0 * et)..<(($0 + 1) * et)) + shared }
    }

    /// The last level's task mixtures, `[T, B, H]`, for the input `x` `[B, D]`.
    func pleOutput(_ x: Variable, training: Bool, tape: Tape, rng: inout SeededRNG) -> Variable {
        let c = config, t = c.numTasks, et = c.taskExperts, b = x.shape[0]
        let routes = Self.pleRoutes(c)
        func mlp(_ h: Variable, _ layers: [(weight: Parameter, bias: Parameter)], reluOnLast: Bool, rng: inout SeededRNG) -> Variable {
            self.mlp(h, layers, reluOnLast: reluOnLast, training: training, tape: tape, rng: &rng)
        }
        func gate(_ input: Variable, _ hidden: [(weight: Parameter, bias: Parameter)], _ out: (weight: Parameter, bias: Parameter?),
                  rng: inout SeededRNG) -> Variable {
            mlp(input, hidden, reluOnLast: true, rng: &rng)
                .linear(tape.parameter(out.weight), out.bias.map { tape.parameter($0) }).softmax(axis: -1)
        }
        // Level 0: every branch reads x. Later: task t's branch reads out_t ([T, B, H]); the shared one out_s ([B, H]).
        var taskIn = x, sharedIn = x
        for (level, layers) in self.layers.ple.enumerated() {
            // Task t's Et experts all read in_t: repeat it Et times, [T, B, H] -> [T·Et, B, H].
            var expertIn = taskIn
            if taskIn.rank == 3 && et > 1 {
                let h = taskIn.shape[2]
                let ones = tape.constant(Tensor(shape: [1, et, 1, 1], repeating: 1))
                expertIn = (taskIn.reshaped([t, 1, b, h]) * ones).reshaped([t * et, b, h])
            }
            var experts = mlp(expertIn, layers.taskExperts, reluOnLast: c.expertReluOnLast, rng: &rng)      // [T·Et, B, H]
            if !layers.sharedExperts.isEmpty {
                experts = concat([experts, mlp(sharedIn, layers.sharedExperts, reluOnLast: c.expertReluOnLast, rng: &rng)], axis: 0)
            }                                                                                                // [T·Et + Es, B, H]
            let taskGates = gate(taskIn, layers.taskGates, layers.taskGateOut, rng: &rng)                    // [T, B, Et + Es]
            let taskOut = routedMixture(gates: taskGates, experts: experts, routes: routes)                  // [T, B, H]
            if let shared = layers.sharedGate, level < c.pleLevels - 1 {
                let sharedGates = gate(sharedIn, shared.hidden, shared.out, rng: &rng)                       // [1, B, T·Et + Es]
                sharedIn = gatedMixture(gates: sharedGates, experts: experts).reshaped([b, experts.shape[2]]) // [B, H]
            }
            taskIn = taskOut
        }
        return taskIn
    }
}
