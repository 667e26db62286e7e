/// The `mmoe-train` flag table. Names, defaults and help lines of the first group are those of
/// OneFlow's MMoE README, so its launch scripts and habits carry over.
extension TrainOptions {
    static var parser: ArgumentParser<TrainOptions> {
        ArgumentParser(
            usage: "usage: mmoe-train [--flag value]...",
            groups: [
                FlagGroup(title: "OneFlow MMoE arguments", flags: [
                    .optional("data_dir", \.dataDir, .path(), none: "none",
                              "the data file directory; none = the built-in synthetic data"),
                    .optional("num_train_samples", \.numTrainSamples, .integer("N", .positive), none: "all rows; synthetic: 100000",
                              "the number of train samples"),
                    .optional("num_test_samples", \.numTestSamples, .integer("N", .positive), none: "all rows; synthetic: 20000",
                              "the number of test samples"),
                    .optional("model_load_dir", \.modelLoadDir, .path(), none: "none", "model loading directory"),
                    .optional("model_save_dir", \.modelSaveDir, .path(), none: "none", "model saving directory"),
                    .boolean("save_initial_model", \.saveInitialModel, "save initial model parameters or not"),
                    .boolean("save_model_after_each_eval", \.saveModelAfterEachEval, "save model after each eval or not"),
                    .value("num_experts", \.numExperts, .integer("N", .positive), "the number of experts"),
                    .value("num_tasks", \.numTasks, .integer("N", .positive), "the number of tasks"),
                    .value("embedding_vec_size", \.embeddingVecSize, .integer("N", .positive),
                           "embedding vector size; OneFlow's launch script passes 4"),
                    .value("expert_dnn", \.expertDNN, .positiveIntegers(allowEmpty: false), "expert dnn hidden units number"),
                    .value("gate_dnn", \.gateDNN, .positiveIntegers(allowEmpty: true), "gate dnn hidden units number"),
                    .value("tower_dnn", \.towerDNN, .positiveIntegers(allowEmpty: true), "tower dnn hidden units number"),
                    .value("net_dropout", \.netDropout, .real("P", Requirement("in [0, 1)") { $0 >= 0 && $0 < 1 }),
                           "net dropout rate, in [0, 1)"),
                    .value("learning_rate", \.learningRate, .real("LR", .positive), "initial learning rate"),
                    .value("lr_factor", \.lrFactor, .real("F", Requirement("in (0, 1]") { $0 > 0 && $0 <= 1 }),
                           "lr multiplier at each epoch boundary while lr > min_lr (the MultiStepLR of OneFlow's script); 1 = constant lr, our default"),
                    .value("min_lr", \.minLR, .real("LR", .nonNegative), "the learning rate lr_factor stops at"),
                    .value("batch_size", \.batchSize, .integer("N", .positive), "training/evaluation batch size"),
                    .value("train_batches", \.trainBatches, .integer("N", .positive), "the maximum number of training batches"),
                    .value("loss_print_interval", \.lossPrintInterval, .integer("N", .positive), "interval of printing loss"),
                    .optional("table_size_array", \.tableSizeArray, .positiveIntegers(allowEmpty: false), none: "Census: the reference launch script's 29 sizes",
                              "embedding table size array for sparse fields"),
                    .optional("persistent_path", \.persistentPath, .path(), none: "none",
                              "path for persistent kv store of embedding (accepted; not used yet)"),
                    .value("store_type", \.storeType, .choice,
                           "OneEmbedding kv store type (accepted; embeddings stay in memory for now)"),
                    .value("cache_memory_budget_mb", \.cacheMemoryBudgetMB, .integer("MB", .positive),
                           "embedding cache budget per device in MB (accepted; no cache yet)"),
                    .boolean("amp", \.amp, "enable Automatic Mixed Precision training (accepted; Float32 for now)"),
                    .value("loss_scale_policy", \.lossScalePolicy, .choice, "loss scale policy for AMP training"),
                ]),
                FlagGroup(title: "mmoe-swift arguments", flags: [
                    .optional("dataset", \.dataset, .choice, none: "detect",
                              "which data; detected from the files in data_dir, synthetic without data_dir"),
                    .value("output_dir", \.outputDir, .path(), "where results are written"),
                    .value("seed", \.seed, .unsigned(), "seed of initialisation, shuffling, dropout and synthetic data"),
                    .value("threads", \.threads, .integer("N", .nonNegative), "worker threads; 0 = all cores"),
                    .value("correlation", \.correlation, .real("R", Requirement("in [-1, 1]") { $0 >= -1 && $0 <= 1 }),
                           "task correlation of the built-in synthetic data, in [-1, 1]"),
                    .boolean("help", \.help, short: "h", "print this help"),
                ]),
            ],
            footer: """
                A boolean may stand alone (--amp), take a value (--amp=false) or be followed by True or False.
                A list is written "256, 128", 256,128 or "[256, 128]"; "" or "[]" is the empty list.
                A repeated flag takes its last value.
                """)
    }

    /// Parses `arguments` (without the program name), starting from `TrainOptions()`. The error is
    /// one line naming the flag and the bad value.
    public static func parse(_ arguments: [String]) throws -> TrainOptions {
        var options = TrainOptions()
        options.explicitFlags = try parser.parse(arguments, into: &options)
        return options
    }

    /// The `--help` text: the usage line, then every flag with its default and one-line description,
    /// OneFlow's first, ours after.
    public static var helpText: String { parser.helpText(defaults: TrainOptions()) }

    /// One line for each flag the user passed that is accepted for OneFlow compatibility but does
    /// not act yet, so nobody believes a setting is in effect when it is not. A flag that asks for
    /// what already happens (`--store_type device_mem`, `--amp=false`) gets no line.
    public var notYetNotices: [String] {
        var notes: [String] = []
        if explicitFlags.contains("persistent_path"), let path = persistentPath {
            notes.append("note: --persistent_path \(path) accepted; embeddings are not persisted there yet (use --model_save_dir to save the model)")
        }
        if explicitFlags.contains("store_type"), storeType != .deviceMem {
            notes.append("note: --store_type \(storeType.rawValue) accepted; embeddings are kept in memory (device_mem behaviour) until the embedding-store work lands")
        }
        if explicitFlags.contains("cache_memory_budget_mb") {
            notes.append("note: --cache_memory_budget_mb \(cacheMemoryBudgetMB) accepted; there is no embedding cache yet, whole tables are kept in memory")
        }
        if explicitFlags.contains("amp"), amp {
            notes.append("note: --amp accepted; training runs in Float32 until mixed precision lands")
        }
        if explicitFlags.contains("loss_scale_policy") {
            notes.append("note: --loss_scale_policy \(lossScalePolicy.rawValue) accepted; it has no effect until mixed precision lands")
        }
        return notes
    }
}
