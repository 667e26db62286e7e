/// Which network sits between the embeddings and the task logits.
public enum ModelKind: String, Sendable, CaseIterable {
    /// Multi-gate Mixture-of-Experts: shared experts, one softmax gate and one tower per task.
    case mmoe
    /// DeepRec's SimpleMultiTask: shared embeddings, each task its own MLP tower, no experts.
    case simpleMultitask = "simple_multitask"
}

/// The shape of an MMoE network: what the input looks like and how big each part is.
/// The defaults are the OneFlow example's (3 experts of [256, 128], 2 tasks, no gate or tower
/// hidden layers); `deepRec(...)` gives DeepRec's model-zoo MMoE.
public struct MMoEConfig: Sendable, Equatable {
    /// Dd: dense input features.
    public var denseWidth: Int
    /// Rows per sparse field in the fused embedding table (empty: no sparse input).
    public var fieldRows: [Int]
    /// Name of each sparse field, in `fieldRows` order: checkpoints store the embedding table per
    /// field, as `embedding.<name>`. `field0`, `field1`, ... when the data does not name them.
    public var fieldNames: [String]
    /// Embedding vector size of every sparse field.
    public var embeddingDim: Int
    public var numExperts = 3
    public var numTasks = 2
    /// Hidden sizes of each expert; the last is the expert output width. ReLU between layers, none after the last.
    public var expertDNN = [256, 128]
    /// Hidden sizes of each task's gate MLP before its linear map (without bias) to the experts.
    public var gateDNN: [Int] = []
    /// Hidden sizes of each task's tower MLP before its linear map to one logit.
    public var towerDNN: [Int] = []
    /// Dropout after every hidden (ReLU) layer, in training only.
    public var dropout: Float = 0
    public var kind: ModelKind = .mmoe
    /// ReLU after the experts' last layer too (DeepRec's experts are ReLU dense stacks; OneFlow's
    /// skip the final activation).
    public var expertReluOnLast = false
    /// A bias in each gate's linear map to the experts (DeepRec's gates are dense layers with one;
    /// OneFlow's have none).
    public var gateBias = false

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

    /// Checks what the network cannot be built without; the message names the setting as a flag.
    public func validate() throws(MMoEConfigError) {
        if numExperts < 1 { throw MMoEConfigError("--num_experts must be at least 1, got \(numExperts)") }
        if numTasks < 1 { throw MMoEConfigError("--num_tasks must be at least 1, got \(numTasks)") }
        if expertDNN.isEmpty || expertDNN.contains(where: { $0 < 1 }) { throw MMoEConfigError("--expert_dnn needs at least one positive size, got \(expertDNN)") }
        if gateDNN.contains(where: { $0 < 1 }) { throw MMoEConfigError("--gate_dnn sizes must be positive, got \(gateDNN)") }
        if towerDNN.contains(where: { $0 < 1 }) { throw MMoEConfigError("--tower_dnn sizes must be positive, got \(towerDNN)") }
        if !(dropout >= 0 && dropout < 1) { throw MMoEConfigError("--net_dropout must be in [0, 1), got \(dropout)") }
        if !fieldRows.isEmpty && embeddingDim < 1 { throw MMoEConfigError("--embedding_vec_size must be at least 1, got \(embeddingDim)") }
        if fieldNames.count != fieldRows.count {
            throw MMoEConfigError("\(fieldNames.count) field names for \(fieldRows.count) sparse fields")
        }
        if Set(fieldNames).count != fieldNames.count || fieldNames.contains(where: \.isEmpty) {
            throw MMoEConfigError("sparse field names must be distinct and non-empty, got \(fieldNames)")
        }
        if inputWidth < 1 { throw MMoEConfigError("the data has no input features") }
    }
}

public struct MMoEConfigError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
