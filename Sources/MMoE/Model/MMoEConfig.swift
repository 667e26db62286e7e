import Tensor

/// Which network sits between the embeddings and the task logits.
public enum ModelKind: String, Sendable, CaseIterable, Codable {
    /// Multi-gate Mixture-of-Experts: shared experts, one softmax gate and one tower per task.
    case mmoe
    /// DeepRec's SimpleMultiTask: shared embeddings, each task its own MLP tower, no experts.
    case simpleMultitask = "simple_multitask"
    /// One-gate Mixture-of-Experts (the MMoE paper's OMoE baseline): the experts of `mmoe`, one
    /// softmax gate shared by every task.
    case omoe
    /// The MMoE paper's shared-bottom baseline: one MLP (`bottomDNN`) shared by all tasks, then the towers.
    case sharedBottom = "shared_bottom"
    /// No sharing: each task its own bottom MLP (`bottomDNN`) and tower.
    case singleTask = "single_task"
    /// Progressive Layered Extraction (Tang et al., RecSys 2020): per level, task-specific and
    /// shared experts, each task's gate over its own and the shared experts.
    case ple

    /// Whether the network has a bank of experts mixed by `numExperts`-wide gates (mmoe, omoe).
    public var hasExpertBank: Bool { self == .mmoe || self == .omoe }
    /// Whether the network has a bottom MLP sized by `bottomDNN`.
    public var hasBottom: Bool { self == .sharedBottom || self == .singleTask }
    /// Whether the network has softmax gates (sized by `gateDNN`).
    public var hasGates: Bool { hasExpertBank || self == .ple }
}

/// What a task predicts, and so its loss and metrics.
public enum TaskType: String, Sendable, CaseIterable, Codable {
    /// A 0/1 label: BCE-with-logits, AUC, log loss, accuracy.
    case binary
    /// A real-valued label: the raw output, mean squared error.
    case regression
}

/// The shape of an MMoE network: what the input looks like and how big each part is.
/// The defaults are the OneFlow example's (3 experts of [256, 128], 2 tasks, no gate or tower
/// hidden layers); `deepRec(...)` gives DeepRec's model-zoo MMoE.
public struct MMoEConfig: Sendable, Equatable, Codable {
    /// Dd: dense input features.
    public var denseWidth: Int
    /// Rows per sparse field in the fused embedding table (empty: no sparse input).
    public var fieldRows: [Int]
    /// Name of each sparse field, in `fieldRows` order: checkpoints store the embedding table per
    /// field, as `embedding.<name>`. `field0`, `field1`, ... when the data does not name them.
    public var fieldNames: [String]
    /// Embedding vector size of every sparse field.
    public var embeddingDim: Int
    /// How each sparse field's bag of rows becomes one vector, in `fieldRows` order; nil = every
    /// field by its mean (a one-id field is its row either way). A schema's `"combiner": "sum"`
    /// tags set it; a model whose fields are all mean-combined leaves it nil, so its saved
    /// configuration is what it was before sum bags existed.
    public var fieldCombiners: [EmbeddingCombiner]? = nil
    /// E, the number of experts of `mmoe` and `omoe` (PLE counts its own with `taskExperts` and
    /// `sharedExperts`).
    public var numExperts = 3
    /// T, the number of tasks, each with its own tower and loss.
    public var numTasks = 2
    /// Hidden sizes of each expert; the last is the expert output width. ReLU between layers, none after the last.
    public var expertDNN = [256, 128]
    /// Hidden sizes of each task's gate MLP before its linear map (without bias) to the experts.
    public var gateDNN: [Int] = []
    /// Hidden sizes of each task's tower MLP before its linear map to one logit.
    public var towerDNN: [Int] = []
    /// Dropout after every hidden (ReLU) layer, in training only.
    public var dropout: Float = 0
    /// Which network: MMoE, one of the paper's baselines, SimpleMultiTask or PLE.
    public var kind: ModelKind = .mmoe
    /// ReLU after the experts' last layer too (DeepRec's experts are ReLU dense stacks; OneFlow's
    /// skip the final activation).
    public var expertReluOnLast = false
    /// A bias in each gate's linear map to the experts (DeepRec's gates are dense layers with one;
    /// OneFlow's have none).
    public var gateBias = false
    /// One per task; empty = every task binary.
    public var taskTypes: [TaskType] = []
    /// Hidden sizes of the bottom MLP of `shared_bottom` and `single_task`; nil = `expertDNN`.
    public var bottomDNN: [Int]? = nil
    /// PLE: experts of each task at each level.
    public var taskExperts = 1
    /// PLE: shared experts at each level.
    public var sharedExperts = 1
    /// PLE: extraction levels.
    public var pleLevels = 2

    public init(denseWidth: Int, fieldRows: [Int], embeddingDim: Int, numExperts: Int = 3, numTasks: Int = 2,
                expertDNN: [Int] = [256, 128], gateDNN: [Int] = [], towerDNN: [Int] = [], dropout: Float = 0,
                fieldNames: [String]? = nil) {
        self.denseWidth = denseWidth
        self.fieldRows = fieldRows
        self.fieldNames = fieldNames ?? Self.defaultFieldNames(fieldRows.count)
        self.embeddingDim = embeddingDim
        self.numExperts = numExperts
        self.numTasks = numTasks
        self.expertDNN = expertDNN
        self.gateDNN = gateDNN
        self.towerDNN = towerDNN
        self.dropout = dropout
    }

    /// DeepRec's model-zoo MMoE on `fieldRows` embedding fields: embedding 16, 4 experts of
    /// [256, 192, 128, 64] with ReLU on every layer, gates linear with bias, towers
    /// [256, 192, 128, 64] then a logit, 2 tasks.
    public static func deepRec(denseWidth: Int = 0, fieldRows: [Int], fieldNames: [String]? = nil) -> MMoEConfig {
        var c = MMoEConfig(denseWidth: denseWidth, fieldRows: fieldRows, embeddingDim: 16, numExperts: 4, numTasks: 2,
                           expertDNN: [256, 192, 128, 64], gateDNN: [], towerDNN: [256, 192, 128, 64], fieldNames: fieldNames)
        c.expertReluOnLast = true
        c.gateBias = true
        return c
    }

    /// `field0`, `field1`, ...: the names of `count` fields the data does not name.
    public static func defaultFieldNames(_ count: Int) -> [String] { (0..<count).map { "field\($0)" } }

    /// F: sparse fields.
    public var fieldCount: Int { fieldRows.count }
    /// D: width of the concatenated input (flattened embeddings, then dense features).
    public var inputWidth: Int { fieldCount * embeddingDim + denseWidth }

    /// Each sparse field's combiner: `fieldCombiners`, or mean for every field when it is nil.
    public var resolvedFieldCombiners: [EmbeddingCombiner] { fieldCombiners ?? Array(repeating: .mean, count: fieldCount) }

    /// Each task's type: `taskTypes`, or binary for all when it is empty.
    public var resolvedTaskTypes: [TaskType] { taskTypes.isEmpty ? Array(repeating: .binary, count: numTasks) : taskTypes }
    /// The widths of the bottom MLP: `bottomDNN`, or the experts' when it is nil.
    public var resolvedBottomDNN: [Int] { bottomDNN ?? expertDNN }

    /// Checks what the network cannot be built without; the message names the setting as a flag.
    public func validate() throws(MMoEConfigError) {
        if numExperts < 1 { throw MMoEConfigError("--num_experts must be at least 1, got \(numExperts)") }
        if numTasks < 1 { throw MMoEConfigError("--num_tasks must be at least 1, got \(numTasks)") }
        if expertDNN.isEmpty || expertDNN.contains(where: { $0 < 1 }) { throw MMoEConfigError("--expert_dnn needs at least one positive size, got \(expertDNN)") }
        if gateDNN.contains(where: { $0 < 1 }) { throw MMoEConfigError("--gate_dnn sizes must be positive, got \(gateDNN)") }
        if towerDNN.contains(where: { $0 < 1 }) { throw MMoEConfigError("--tower_dnn sizes must be positive, got \(towerDNN)") }
        if !(dropout >= 0 && dropout < 1) { throw MMoEConfigError("--net_dropout must be in [0, 1), got \(dropout)") }
        if !fieldRows.isEmpty && embeddingDim < 1 { throw MMoEConfigError("--embedding_vec_size must be at least 1, got \(embeddingDim)") }
        if let combiners = fieldCombiners, combiners.count != fieldRows.count {
            throw MMoEConfigError("\(combiners.count) field combiners for \(fieldRows.count) sparse fields")
        }
        if fieldNames.count != fieldRows.count {
            throw MMoEConfigError("\(fieldNames.count) field names for \(fieldRows.count) sparse fields")
        }
        if Set(fieldNames).count != fieldNames.count || fieldNames.contains(where: \.isEmpty) {
            throw MMoEConfigError("sparse field names must be distinct and non-empty, got \(fieldNames)")
        }
        if fieldCount.multipliedReportingOverflow(by: embeddingDim).overflow || (fieldCount * embeddingDim).addingReportingOverflow(denseWidth).overflow {
            throw MMoEConfigError("--embedding_vec_size \(embeddingDim): \(fieldCount) fields of that size are past Int's range; the network would need more memory than any machine has")
        }
        if inputWidth < 1 { throw MMoEConfigError("the data has no input features") }
        if !taskTypes.isEmpty && taskTypes.count != numTasks {
            throw MMoEConfigError("--task_types has \(taskTypes.count) entries for \(numTasks) tasks; give one per task")
        }
        if let b = bottomDNN, b.isEmpty || b.contains(where: { $0 < 1 }) { throw MMoEConfigError("--bottom_dnn needs at least one positive size, got \(b)") }
        if kind == .ple {
            if pleLevels < 1 { throw MMoEConfigError("--ple_levels must be at least 1, got \(pleLevels)") }
            if taskExperts < 1 { throw MMoEConfigError("--task_experts must be at least 1, got \(taskExperts)") }
            if sharedExperts < 0 { throw MMoEConfigError("--shared_experts must be at least 0, got \(sharedExperts)") }
        }
        // Sizes (issue 19): refused before anything is allocated, with what they would need.
        try MemoryEstimate.check(.network(self, embeddingTable: false), what: "the network",
                                 advice: "reduce --num_experts, --expert_dnn, --gate_dnn, --tower_dnn, --ple_levels or --embedding_vec_size")
    }
}

/// A model configuration that cannot be built, with a message naming the setting.
public struct MMoEConfigError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
