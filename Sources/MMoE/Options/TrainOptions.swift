import Datasets

/// Everything `mmoe-train` can be told, as one value. The first group mirrors the argument table of
/// OneFlow's MMoE example, with its defaults, so its launch scripts run unchanged; the second group
/// is ours. `TrainOptions()` is the configuration of a run given no flags.
///
/// Deliberate differences from OneFlow: `data_dir`, `num_train_samples`, `num_test_samples`,
/// `table_size_array` and `persistent_path` are required there and optional here (no data directory
/// means the built-in synthetic data; no sample counts mean every row of the files; no table sizes
/// mean the Census reference sizes).
public struct TrainOptions: Sendable, Equatable {
    // OneFlow argument table
    public var dataDir: String? = nil
    /// nil = every row of the training file.
    public var numTrainSamples: Int? = nil
    /// nil = every row of the test file.
    public var numTestSamples: Int? = nil
    public var modelLoadDir: String? = nil
    public var modelSaveDir: String? = nil
    public var saveInitialModel = false
    public var saveModelAfterEachEval = false
    public var numExperts = 3
    public var numTasks = 2
    /// OneFlow's table says 16; its launch script passes 4.
    public var embeddingVecSize = 16
    public var expertDNN = [256, 128]
    public var gateDNN: [Int] = []
    public var towerDNN: [Int] = []
    public var netDropout: Float = 0
    public var learningRate: Float = 0.001
    /// Multiplies the learning rate at each epoch boundary while it is above `minLR`, as the
    /// MultiStepLR of OneFlow's script does; 1 keeps it constant, which is our default.
    public var lrFactor: Float = 1
    public var minLR: Float = 1e-6
    public var batchSize = 256
    public var trainBatches = 16000
    public var lossPrintInterval = 100
    /// nil = Census-income's reference sizes (`CensusIncome.defaultTableSizes`); the reader checks a
    /// given array against the data (29 entries, all positive).
    public var tableSizeArray: [Int]? = nil
    public var persistentPath: String? = nil
    public var storeType: StoreType = .cachedHostMem
    public var cacheMemoryBudgetMB = 1024
    /// Across MPI ranks: an embedding store whole on every rank, or sharded by key (`ShardedEmbedding`).
    public var embeddingSharding: EmbeddingSharding = .replicated
    /// Across MPI ranks: each rank parses its share of a streamed input, or all of it (`InputShare`).
    public var rankInput: RankInput = .share
    public var amp = false
    public var lossScalePolicy: LossScalePolicy = .static

    // DeepRec argument table (`data_location`, `batch_size`, `learning_rate`, `seed`, `output_dir`
    // are the fields above and below; `steps` resolves into `trainBatches`)
    /// nil = not given; 0 = DeepRec's rule, ceil(1000 epochs x rows / batch size).
    public var steps: Int? = nil
    public var noEval = false
    /// DeepRec's checkpoint directory: saves every `saveSteps` and at the end, resumes from the latest.
    public var checkpoint: String? = nil
    /// nil or 0 = no periodic saves.
    public var saveSteps: Int? = nil
    public var keepCheckpointMax = 1
    /// nil or 0 = off; N = a Chrome trace of step N, 2N, ... in `outputDir`.
    public var timeline: Int? = nil
    /// L2 on dense weights (loss += l2 · Σw²/2, TensorFlow's l2_regularizer); 0 = off.
    public var l2Regularization: Float = 0
    public var optimizer: OptimizerKind = .adam
    public var distributedProtocol: DistributedProtocol = .grpc
    /// Concurrent batch shards; 0 = one per core.
    public var inter = 0
    /// Threads per op (the GEMM's and the kernels' worker threads); 0 = all cores.
    public var intra = 0
    public var inputLayerPartitioner = 0
    public var denseLayerPartitioner = 0
    public var bf16 = false
    public var embFusion = true
    public var opFusion = true
    public var smartstaged = true
    /// 0 or 1 = off; N = each step accumulates gradients over N batches of `batchSize` rows.
    public var microBatch = 0
    /// Plain baseline: every DeepRec-style optimisation off.
    public var tf = false
    public var workqueue = false
    public var ev = false
    public var evFilter: EVFilter = .none
    public var evElimination: EVElimination = .none
    public var adaptiveEmb = false
    public var dynamicEV = false
    public var multihash = false
    public var incrementalCkpt = 0
    /// Embedding-store settings (ours, named after DeepRec's EmbeddingVariableOption arguments).
    /// Sightings that admit an id (`CounterFilter`/`CBFFilter`'s `filter_freq`).
    public var evFilterFreq = 3
    /// `CBFFilter`'s `max_element_size` and `false_positive_probability`; DeepRec's 2^30 elements
    /// would take 9.6 G counters, so ours defaults to 2^20 (10 M counters, 10 MB).
    public var evCBFMaxElements = 1 << 20
    public var evCBFFalsePositive: Float = 0.01
    /// `GlobalStepEvict`'s `steps_to_live`.
    public var evStepsToLive = 4000
    /// `L2WeightEvict`'s `l2_weight_threshold`.
    public var evL2WeightThreshold: Float = 1.0
    /// Eviction runs after the update of every step that is a multiple of this.
    public var evEvictionInterval = 100

    // ours
    public var model: ModelKind = .mmoe
    /// Taobao `price` outside [0, 50): clamp into range instead of stopping with an error.
    public var clampPrice = false
    /// Census: the MMoE paper's task group, income and marital status or education and marital status.
    public var censusTasks: CensusTaskGroup = .incomeMarital
    /// nil = detect from the files in `dataDir`, or synthetic when there is no `dataDir`.
    public var dataset: DatasetKind? = nil
    public var outputDir = "./result"
    public var seed: UInt64 = 2019
    /// 0 = all cores.
    public var threads = 0
    /// Correlation between the tasks of the built-in synthetic data, in [-1, 1].
    public var correlation: Float = 0.5
    /// One per task; empty = every task binary. Regression needs the synthetic data.
    public var taskTypes: [TaskType] = []
    /// `shared_bottom` / `single_task` bottom MLP widths; nil = `expertDNN`.
    public var bottomDNN: [Int]? = nil
    /// PLE: experts per task per level, shared experts per level, levels (DeepCTR's PLE defaults).
    public var taskExperts = 1
    public var sharedExperts = 1
    public var pleLevels = 2
    /// The synthetic data's d, c, m, alpha/beta std and label-noise std (the MMoE paper's d, c, m;
    /// its noise N(0, 0.01) is a variance, so std 0.1).
    public var syntheticDim = 100
    public var syntheticScale: Float = 1
    public var syntheticSinTerms = 10
    public var syntheticAlphaBetaStd: Float = 1
    public var syntheticNoise: Float = 0.1
    /// After training, write each task's gate statistics over the test set (gate_report.json and
    /// gate_report.svg in `outputDir`) and warn about collapsed gates.
    public var gateReport = false
    /// ReLU after the last layer of each expert (and of a bottom MLP) too, as in the MMoE paper's
    /// and DeepRec's experts; OneFlow's reference leaves that layer linear.
    public var expertReluOnLast = false
    /// How the gates' output layer starts: Xavier like the other weights, or zero (uniform gates).
    public var gateInit: GateInit = .xavier
    /// After training, evaluate the final model on the first N training rows and write their loss
    /// to summary.json (`train_eval`), next to the test loss; 0 = off.
    public var trainEvalRows = 0
    /// Write TensorBoard event files into `outputDir` (`--tensorboard False` turns them off).
    public var tensorboard = true
    /// Tasks and validation (see TrainOptions+Tasks.swift): per-task loss weights (empty = all
    /// 1), condition task names (empty = none; "-" for a task without), the held-out fraction of
    /// the training rows, validation files, early stopping.
    public var taskWeights: [Float] = []
    public var taskConditions: [String] = []
    public var validFraction: Float? = nil
    public var validFiles: [String] = []
    public var earlyStoppingPatience = 0
    public var earlyStoppingMetric: EarlyStoppingMetric = .aucMean
    /// OneFlow's Census Parquet folder: stream its row groups (`on`), read it whole into memory
    /// (`off`), or stream only when it would not fit comfortably (`auto`; see TrainCommand+ParquetStream).
    public var parquetStream: ParquetStreaming = .auto
    /// Rows in the shuffle window of a streamed training input (Taobao's file, a streamed Parquet folder).
    public var shuffleWindow = 1 << 17
    /// Your own data (see YourOwnData): the schema JSON, and the files it describes as
    /// comma-separated paths or globs (nil: `train.*`/`test.*` in `dataDir`; validation files
    /// come from `validFiles`, the same flag as for the built-in data).
    public var schema: String? = nil
    public var trainFiles: String? = nil
    public var testFiles: String? = nil
    /// Print a schema guessed from `trainFiles` and exit.
    public var inferSchema = false
    public var help = false

    /// The flags the user wrote (names without dashes), so later code can tell "given" from
    /// "defaulted" (an explicit `--embedding_vec_size 16` is not the same request as none). Part
    /// of `==`: two parses are equal only if they were spelled with the same flags.
    public var explicitFlags: Set<String> = []

    public init() {}
}

/// Where OneFlow's OneEmbedding keeps embedding tables: `device_mem` all in RAM; `cached_host_mem`
/// in RAM, persisted under `--persistent_path` when one is given; `cached_ssd` in files under
/// `--persistent_path` with a cache in RAM (see `TrainOptions.embeddingStoreDirectory`).
public enum StoreType: String, Sendable, CaseIterable {
    case deviceMem = "device_mem", cachedHostMem = "cached_host_mem", cachedSSD = "cached_ssd"
}

/// DeepRec's parameter-server protocol; single-process training has no server.
public enum DistributedProtocol: String, Sendable, CaseIterable {
    case grpc, grpcPlusPlus = "grpc++", starServer = "star_server"
}

/// DeepRec EmbeddingVariable feature admission.
public enum EVFilter: String, Sendable, CaseIterable {
    case none = "None", counter, cbf
}

/// DeepRec EmbeddingVariable feature eviction.
public enum EVElimination: String, Sendable, CaseIterable {
    case none = "None", l2, gstep
}

/// How the loss is scaled under mixed precision (`--amp`).
public enum LossScalePolicy: String, Sendable, CaseIterable {
    case `static`, dynamic
}

/// The data a run trains on.
/// `--parquet_stream`: how a Parquet training folder is read.
public enum ParquetStreaming: String, Sendable, CaseIterable {
    case auto, on, off
}

public enum DatasetKind: String, Sendable, CaseIterable {
    /// `schema`: the user's own delimited files, read through `--schema`.
    case census, taobao, synthetic, schema
}

/// A command line the user must fix. `message` is one line that names the flag and the bad value;
/// turning it into an exit code (2, as argparse) is the CLI's job.
public struct OptionsError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
