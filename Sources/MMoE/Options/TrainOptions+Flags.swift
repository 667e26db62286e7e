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
                    .value("train_batches", \.trainBatches, .integer("N", .positive),
                           "the maximum number of training batches; the built-in synthetic data defaults to 2 epochs instead (782 steps)"),
                    .value("loss_print_interval", \.lossPrintInterval, .integer("N", .positive), "interval of printing loss"),
                    .optional("table_size_array", \.tableSizeArray, .positiveIntegers(allowEmpty: false), none: "Census: the reference launch script's 29 sizes",
                              "embedding table size array for sparse fields"),
                    .optional("persistent_path", \.persistentPath, .path(), none: "none",
                              "path for persistent kv store of embedding: cached_ssd keeps the table there, cached_host_mem saves it there at each save and resumes from it"),
                    .value("store_type", \.storeType, .choice,
                           "OneEmbedding kv store type: device_mem (all in RAM), cached_host_mem (in RAM, persisted under persistent_path if given, else as device_mem), cached_ssd (in files under persistent_path, a cache in RAM)"),
                    .value("cache_memory_budget_mb", \.cacheMemoryBudgetMB, .integer("MB", .positive),
                           "cached_ssd: memory for the cache of hot embedding rows, in MB (cached_host_mem keeps the whole table in RAM)"),
                    .value("embedding_sharding", \.embeddingSharding, .choice,
                           "under mpirun, an embedding store (--ev, --multihash, --persistent_path) is replicated (whole on every rank) or sharded by key (rank hash(key) % N holds a key's row)"),
                    .value("rank_input", \.rankInput, .choice,
                           "under mpirun, a streamed training input (Taobao, large schema files, Parquet row groups) is read in shares (each rank parses its pieces, the parsed rows are exchanged) or whole by every rank"),
                    .boolean("amp", \.amp, "enable Automatic Mixed Precision training: bfloat16 GEMM inputs, Float accumulation and master weights, loss scaling"),
                    .value("loss_scale_policy", \.lossScalePolicy, .choice,
                           "loss scale policy for AMP training: static (1024) or dynamic (from 2^30, halved and the step skipped on overflow, doubled after 2000 clean steps)"),
                ]),
                FlagGroup(title: "DeepRec MMoE arguments", flags: [
                    .optional("data_location", \.dataDir, .path(), none: "none", "full path of train & eval data (the same as --data_dir)"),
                    .optional("steps", \.steps, .integer("N", .nonNegative), none: "as --train_batches",
                              "training steps; 0 = DeepRec's rule, 1000 epochs (the same as --train_batches otherwise)"),
                    .boolean("no_eval", \.noEval, "do not evaluate the trained model on the test data"),
                    .optional("checkpoint", \.checkpoint, .path(), none: "none",
                              "checkpoint directory: saved every save_steps and at the end, resumed from the latest"),
                    .optional("save_steps", \.saveSteps, .integer("N", .nonNegative), none: "none",
                              "save a checkpoint every N steps (needs --checkpoint or --model_save_dir); 0 = off"),
                    .value("keep_checkpoint_max", \.keepCheckpointMax, .integer("N", .positive),
                           "how many recent step checkpoints to keep; older ones are deleted"),
                    .optional("timeline", \.timeline, .integer("N", .nonNegative), none: "off",
                              "every N steps write a Chrome trace of that step's ops (timeline_step_N.json in output_dir); 0 = off"),
                    .value("l2_regularization", \.l2Regularization, .real("L2", .nonNegative),
                           "L2 regularisation of dense weights (loss += l2 * sum(w^2) / 2); 0 = off"),
                    .value("optimizer", \.optimizer, .choice, "optimizer for the whole model"),
                    .value("protocol", \.distributedProtocol, .choice,
                           "distributed parameter-server protocol (validated; single-process training has no server)"),
                    .value("inter", \.inter, .integer("N", .nonNegative), "inter-op parallelism: row shards of each batch run concurrently, gradients summed in a fixed order; 0 = 2"),
                    .value("intra", \.intra, .integer("N", .nonNegative), "intra-op parallelism: threads per op; 0 = all cores"),
                    .value("input_layer_partitioner", \.inputLayerPartitioner, .integer("MB", .nonNegative),
                           "slice size of the input layer partitioner in MB (validated; single-process training ignores it)"),
                    .value("dense_layer_partitioner", \.denseLayerPartitioner, .integer("KB", .nonNegative),
                           "slice size of the dense layer partitioner in kB (validated; single-process training ignores it)"),
                    .boolean("bf16", \.bf16, "dense-layer GEMMs with bfloat16-rounded inputs and Float accumulation"),
                    .boolean("emb_fusion", \.embFusion, "one fused embedding lookup over all fields (false: one lookup per field)"),
                    .boolean("op_fusion", \.opFusion, "bias and ReLU fused into the GEMM epilogue (false: separate ops)"),
                    .boolean("smartstaged", \.smartstaged, "prepare the next batches on a background thread while the step runs"),
                    .value("micro_batch", \.microBatch, .integer("N", .nonNegative),
                           "accumulate gradients over N batches of batch_size rows per update (DeepRec's micro_batch_num); 0 = off"),
                    .boolean("tf", \.tf, "plain baseline: emb_fusion, op_fusion, smartstaged, bf16, micro_batch and workqueue all off"),
                    .boolean("workqueue", \.workqueue, "share the input out to loader threads in file slices"),
                    .boolean("ev", \.ev, "EmbeddingVariable: one row per raw 64-bit key (no hash collisions), created on first sight (or on admission)"),
                    .value("ev_filter", \.evFilter, .choice,
                           "admission of EV ids: counter (exact counts) or cbf (counting Bloom filter); an id gets a row at its ev_filter_freq-th sighting and reads zeros before"),
                    .value("ev_elimination", \.evElimination, .choice,
                           "eviction of EV rows every ev_eviction_interval steps: gstep (not updated for ev_steps_to_live steps) or l2 (L2 norm below ev_l2_weight_threshold)"),
                    .boolean("adaptive_emb", \.adaptiveEmb,
                             "adaptive embedding: ids seen ev_filter_freq times get EV rows (starting from their hashed row), rarer ids share the hashed table"),
                    .boolean("dynamic_ev", \.dynamicEV, "dynamic-dimension embedding variable (refused: not built, see README)"),
                    .boolean("multihash", \.multihash,
                             "quotient-remainder embedding: per field two tables of about sqrt(buckets) rows, each id the elementwise product of one row of each"),
                    .value("incremental_ckpt", \.incrementalCkpt, .integer("SECONDS", .nonNegative), "every N seconds save only the embedding rows changed since the last save (a checkpoint with --checkpoint, else a commit of the persistent store); 0 = off"),
                ]),
                FlagGroup(title: "Embedding-store settings (ours, after DeepRec's EmbeddingVariableOption)", flags: [
                    .value("ev_filter_freq", \.evFilterFreq, .integer("N", .positive),
                           "sightings in training that admit an id (DeepRec's filter_freq), for --ev_filter and --adaptive_emb"),
                    .value("ev_cbf_max_elements", \.evCBFMaxElements, .integer("N", .positive),
                           "ids the counting Bloom filter is sized for (DeepRec's max_element_size, 2^30 there)"),
                    .value("ev_cbf_false_positive", \.evCBFFalsePositive, .real("P", Requirement("in (0, 1)") { $0 > 0 && $0 < 1 }),
                           "false-positive rate the counting Bloom filter is sized for (DeepRec's false_positive_probability)"),
                    .value("ev_steps_to_live", \.evStepsToLive, .integer("N", .positive),
                           "--ev_elimination gstep: evict rows not updated for this many global steps (DeepRec's steps_to_live)"),
                    .value("ev_l2_weight_threshold", \.evL2WeightThreshold, .real("T", .nonNegative),
                           "--ev_elimination l2: evict rows whose L2 norm is below this (DeepRec's l2_weight_threshold)"),
                    .value("ev_eviction_interval", \.evEvictionInterval, .integer("N", .positive),
                           "eviction runs after the update of every step that is a multiple of N"),
                ]),
                FlagGroup(title: "mmoe-swift arguments", flags: [
                    .value("model", \.model, .choice,
                           "mmoe; omoe (one gate for all tasks); shared_bottom (one shared MLP, bottom_dnn); single_task (an MLP per task, no sharing); simple_multitask (shared embeddings, one MLP tower per task); ple (Progressive Layered Extraction: ple_levels, task_experts, shared_experts)"),
                    .value("task_types", \.taskTypes, .choices(allowEmpty: true),
                           "one per task, binary or regression (MSE loss; synthetic data, or your own through a schema); empty = all binary, or a schema's own types"),
                    .optional("bottom_dnn", \.bottomDNN, .positiveIntegers(allowEmpty: false), none: "expert_dnn",
                              "shared_bottom / single_task: hidden units of the bottom MLP"),
                    .value("task_experts", \.taskExperts, .integer("N", .positive), "ple: experts of each task at each level"),
                    .value("shared_experts", \.sharedExperts, .integer("N", .nonNegative), "ple: shared experts at each level"),
                    .value("ple_levels", \.pleLevels, .integer("N", .positive), "ple: extraction levels"),
                    .value("census_tasks", \.censusTasks, .censusTasks,
                           "Census task group of the MMoE paper: income,marital, or education,marital (education = at least a bachelor's degree; it is then no input field)"),
                    .boolean("clamp_price", \.clampPrice, "Taobao: clamp price into [0, 50) instead of stopping at the first out-of-range value"),
                    .optional("dataset", \.dataset, .choice, none: "detect",
                              "which data; detected from the files in data_dir, synthetic without data_dir"),
                    .optional("schema", \.schema, .path("FILE"), none: "none",
                              "your own data: a JSON schema naming the features and tasks of delimited files (see YourOwnData)"),
                    .optional("train_files", \.trainFiles, .path("LIST"), none: "train.* in data_dir",
                              "with --schema: training files, comma-separated paths or globs (.csv, .tsv, .txt, .gz)"),
                    .optional("test_files", \.testFiles, .path("LIST"), none: "test.* in data_dir",
                              "with --schema: test files, comma-separated paths or globs"),
                    .boolean("infer_schema", \.inferSchema,
                             "print a schema guessed from the header and first rows of --train_files, to edit and pass as --schema; then exit"),
                    .value("output_dir", \.outputDir, .path(), "where results are written"),
                    .value("seed", \.seed, .unsigned(), "seed of initialisation, shuffling, dropout and synthetic data"),
                    .value("threads", \.threads, .integer("N", .nonNegative), "worker threads; 0 = all cores"),
                    .value("correlation", \.correlation, .real("R", Requirement("in [-1, 1]") { $0 >= -1 && $0 <= 1 }),
                           "task correlation of the built-in synthetic data, in [-1, 1]"),
                    .value("synthetic_dim", \.syntheticDim, .integer("D", Requirement(">= 2") { $0 >= 2 }),
                           "synthetic data: input width d"),
                    .value("synthetic_scale", \.syntheticScale, .real("C", .positive), "synthetic data: norm c of both task weight vectors"),
                    .value("synthetic_sin_terms", \.syntheticSinTerms, .integer("M", .nonNegative), "synthetic data: sine terms m"),
                    .value("synthetic_alpha_beta_std", \.syntheticAlphaBetaStd, .real("S", .nonNegative),
                           "synthetic data: alpha_i, beta_i ~ N(0, S^2) (the paper leaves them as given parameters)"),
                    .value("synthetic_noise", \.syntheticNoise, .real("STD", .nonNegative),
                           "synthetic data: label noise standard deviation (the paper's N(0, 0.01) is a variance)"),
                    .boolean("expert_relu_on_last", \.expertReluOnLast,
                             "ReLU after the experts' (and bottom MLP's) last layer too, as the MMoE paper's and DeepRec's experts; OneFlow's is linear"),
                    .value("gate_init", \.gateInit, .choice,
                           "mmoe / omoe: xavier (the gates' output layer drawn like every weight) or zero (that layer zeroed after the usual draws: every gate starts uniform over the experts)"),
                    .value("train_eval_rows", \.trainEvalRows, .integer("N", .nonNegative),
                           "after training, the loss on the first N training rows (in-memory data) goes into summary.json as train_eval, beside the test loss; 0 = off"),
                    .boolean("gate_report", \.gateReport,
                             "after training, write each task's mean gate weight per expert and how peaked the gates are over the test set (gate_report.json, gate_report.svg in output_dir); warns when a gate has collapsed onto one expert"),
                    .boolean("tensorboard", \.tensorboard,
                             "write TensorBoard event files (losses, test metrics, gate weights, the flags) into output_dir; view with tensorboard --logdir output_dir"),
                ] + taskFlags + [
                    .value("parquet_stream", \.parquetStream, .choice,
                           "OneFlow's Census Parquet folder: on = decode row groups as training consumes them (bounded memory), off = read it whole into memory, auto = stream when its rows would take over a quarter of the machine's memory"),
                    .value("shuffle_window", \.shuffleWindow, .integer("N", .positive),
                           "rows shuffled together in a streamed training input (Taobao's file, a streamed Parquet folder); at least batch_size"),
                    .boolean("help", \.help, short: "h", "print this help"),
                ]),
            ],
            footer: """
                Both tables in one: --data_location is --data_dir and --steps is --train_batches; --batch_size,
                --learning_rate, --seed and --output_dir are shared. Where the default for Taobao data
                (DeepRec's) differs, both are shown.
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
    /// OneFlow's first, DeepRec's next, ours after. Where Taobao's default differs, both are shown.
    public static var helpText: String {
        parser.helpText(defaults: TrainOptions(), alternative: ("Taobao", TrainOptions().resolved(for: .taobao)))
    }

    /// One line for each flag the user passed that is accepted (OneFlow's launch script passes them
    /// all) but has no effect with the other flags given, so nobody believes a setting is in effect
    /// when it is not. A flag that asks for what already happens (`--store_type device_mem`,
    /// `--amp=false`) gets no line.
    public var notYetNotices: [String] {
        var notes: [String] = []
        if explicitFlags.contains("persistent_path"), let path = persistentPath, storeType == .deviceMem {
            notes.append("note: --persistent_path \(path) is not used by --store_type device_mem, which keeps the embeddings in RAM and persists nothing")
        }
        if explicitFlags.contains("store_type"), storeType == .cachedHostMem, persistentPath == nil {
            notes.append("note: --store_type cached_host_mem without --persistent_path persists nothing: the embeddings stay in RAM (device_mem behaviour)")
        }
        if explicitFlags.contains("cache_memory_budget_mb"), storeType != .cachedSSD {
            notes.append("note: --cache_memory_budget_mb \(cacheMemoryBudgetMB) applies to --store_type cached_ssd; \(storeType.rawValue) keeps the whole table in RAM")
        }
        if explicitFlags.contains("loss_scale_policy"), !amp {
            notes.append("note: --loss_scale_policy \(lossScalePolicy.rawValue) applies to --amp training; without --amp the loss is not scaled")
        }
        return notes
    }
}
