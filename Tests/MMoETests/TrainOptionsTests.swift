import XCTest
@testable import MMoE

final class TrainOptionsTests: XCTestCase {
    /// The message `arguments` are refused with, or a failure when they parse.
    private func parseError(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            let options = try TrainOptions.parse(arguments)
            XCTFail("\(arguments) parsed to \(options), expected an error", file: file, line: line)
            return ""
        } catch let error as OptionsError {
            XCTAssertFalse(error.message.contains("\n"), "not one line: \(error.message)", file: file, line: line)
            return error.message
        } catch {
            XCTFail("\(arguments): unexpected error type \(error)", file: file, line: line)
            return ""
        }
    }

    private func assertError(_ arguments: [String], _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(parseError(arguments, file: file, line: line), expected, "\(arguments)", file: file, line: line)
    }

    // MARK: defaults

    func testDefaultsAreOneFlowTable() throws {
        let o = TrainOptions()
        XCTAssertNil(o.dataDir)
        XCTAssertNil(o.numTrainSamples)
        XCTAssertNil(o.numTestSamples)
        XCTAssertNil(o.modelLoadDir)
        XCTAssertNil(o.modelSaveDir)
        XCTAssertFalse(o.saveInitialModel)
        XCTAssertFalse(o.saveModelAfterEachEval)
        XCTAssertEqual(o.numExperts, 3)
        XCTAssertEqual(o.numTasks, 2)
        XCTAssertEqual(o.embeddingVecSize, 16)
        XCTAssertEqual(o.expertDNN, [256, 128])
        XCTAssertEqual(o.gateDNN, [])
        XCTAssertEqual(o.towerDNN, [])
        XCTAssertEqual(o.netDropout, 0)
        XCTAssertEqual(o.learningRate, 0.001)
        XCTAssertEqual(o.lrFactor, 1)
        XCTAssertEqual(o.minLR, 1e-6)
        XCTAssertEqual(o.batchSize, 256)
        XCTAssertEqual(o.trainBatches, 16000)
        XCTAssertEqual(o.lossPrintInterval, 100)
        XCTAssertNil(o.tableSizeArray)
        XCTAssertNil(o.persistentPath)
        XCTAssertEqual(o.storeType, .cachedHostMem)
        XCTAssertEqual(o.cacheMemoryBudgetMB, 1024)
        XCTAssertFalse(o.amp)
        XCTAssertEqual(o.lossScalePolicy, .static)
        XCTAssertNil(o.dataset)
        XCTAssertEqual(o.outputDir, "./result")
        XCTAssertEqual(o.seed, 2019)
        XCTAssertEqual(o.threads, 0)
        XCTAssertEqual(o.correlation, 0.5)
        XCTAssertFalse(o.help)
        XCTAssertEqual(o.explicitFlags, [])
        XCTAssertEqual(try TrainOptions.parse([]), o)
    }

    // MARK: every flag, both forms

    /// One non-default value per flag and how to see that it arrived.
    private let everyFlag: [(name: String, value: String, check: (TrainOptions) -> Bool)] = [
        ("data_dir", "/data/census", { $0.dataDir == "/data/census" }),
        ("num_train_samples", "199523", { $0.numTrainSamples == 199523 }),
        ("num_test_samples", "99762", { $0.numTestSamples == 99762 }),
        ("model_load_dir", "in/ckpt", { $0.modelLoadDir == "in/ckpt" }),
        ("model_save_dir", "out/ckpt", { $0.modelSaveDir == "out/ckpt" }),
        ("save_initial_model", "true", { $0.saveInitialModel }),
        ("save_model_after_each_eval", "true", { $0.saveModelAfterEachEval }),
        ("num_experts", "8", { $0.numExperts == 8 }),
        ("num_tasks", "3", { $0.numTasks == 3 }),
        ("embedding_vec_size", "4", { $0.embeddingVecSize == 4 }),
        ("expert_dnn", "64, 32, 16", { $0.expertDNN == [64, 32, 16] }),
        ("gate_dnn", "16", { $0.gateDNN == [16] }),
        ("tower_dnn", "[8,4]", { $0.towerDNN == [8, 4] }),
        ("net_dropout", "0.25", { $0.netDropout == 0.25 }),
        ("learning_rate", "0.01", { $0.learningRate == 0.01 }),
        ("lr_factor", "0.5", { $0.lrFactor == 0.5 }),
        ("min_lr", "1e-5", { $0.minLR == 1e-5 }),
        ("batch_size", "1024", { $0.batchSize == 1024 }),
        ("train_batches", "10", { $0.trainBatches == 10 }),
        ("loss_print_interval", "7", { $0.lossPrintInterval == 7 }),
        ("table_size_array", "9, 52, 47", { $0.tableSizeArray == [9, 52, 47] }),
        ("persistent_path", "/tmp/kv", { $0.persistentPath == "/tmp/kv" }),
        ("store_type", "cached_ssd", { $0.storeType == .cachedSSD }),
        ("cache_memory_budget_mb", "2048", { $0.cacheMemoryBudgetMB == 2048 }),
        ("embedding_sharding", "key", { $0.embeddingSharding == .key }),
        ("rank_input", "whole", { $0.rankInput == .whole }),
        ("amp", "true", { $0.amp }),
        ("loss_scale_policy", "dynamic", { $0.lossScalePolicy == .dynamic }),
        ("data_location", "/data/taobao", { $0.dataDir == "/data/taobao" }),
        ("steps", "0", { $0.steps == 0 }),
        ("no_eval", "True", { $0.noEval }),
        ("checkpoint", "ck", { $0.checkpoint == "ck" }),
        ("save_steps", "100", { $0.saveSteps == 100 }),
        ("keep_checkpoint_max", "5", { $0.keepCheckpointMax == 5 }),
        ("timeline", "50", { $0.timeline == 50 }),
        ("l2_regularization", "1e-6", { $0.l2Regularization == 1e-6 }),
        ("optimizer", "adagraddecay", { $0.optimizer == .adagraddecay }),
        ("protocol", "star_server", { $0.distributedProtocol == .starServer }),
        ("inter", "3", { $0.inter == 3 }),
        ("intra", "1", { $0.intra == 1 }),
        ("input_layer_partitioner", "8", { $0.inputLayerPartitioner == 8 }),
        ("dense_layer_partitioner", "16", { $0.denseLayerPartitioner == 16 }),
        ("bf16", "True", { $0.bf16 }),
        ("emb_fusion", "False", { !$0.embFusion }),
        ("op_fusion", "False", { !$0.opFusion }),
        ("smartstaged", "False", { !$0.smartstaged }),
        ("micro_batch", "4", { $0.microBatch == 4 }),
        ("tf", "True", { $0.tf }),
        ("workqueue", "True", { $0.workqueue }),
        ("ev", "True", { $0.ev }),
        ("ev_filter", "cbf", { $0.evFilter == .cbf }),
        ("ev_elimination", "l2", { $0.evElimination == .l2 }),
        ("adaptive_emb", "True", { $0.adaptiveEmb }),
        ("dynamic_ev", "True", { $0.dynamicEV }),
        ("multihash", "True", { $0.multihash }),
        ("incremental_ckpt", "60", { $0.incrementalCkpt == 60 }),
        ("ev_filter_freq", "5", { $0.evFilterFreq == 5 }),
        ("ev_cbf_max_elements", "4096", { $0.evCBFMaxElements == 4096 }),
        ("ev_cbf_false_positive", "0.05", { $0.evCBFFalsePositive == 0.05 }),
        ("ev_steps_to_live", "100", { $0.evStepsToLive == 100 }),
        ("ev_l2_weight_threshold", "0.5", { $0.evL2WeightThreshold == 0.5 }),
        ("ev_eviction_interval", "7", { $0.evEvictionInterval == 7 }),
        ("model", "simple_multitask", { $0.model == .simpleMultitask }),
        ("task_types", "regression, binary", { $0.taskTypes == [.regression, .binary] }),
        ("bottom_dnn", "[64, 32]", { $0.bottomDNN == [64, 32] }),
        ("task_experts", "3", { $0.taskExperts == 3 }),
        ("shared_experts", "0", { $0.sharedExperts == 0 }),
        ("ple_levels", "1", { $0.pleLevels == 1 }),
        ("census_tasks", "education,marital", { $0.censusTasks == .educationMarital }),
        ("clamp_price", "True", { $0.clampPrice }),
        ("dataset", "taobao", { $0.dataset == .taobao }),
        ("schema", "s.json", { $0.schema == "s.json" }),
        ("train_files", "a.csv,b/*.csv", { $0.trainFiles == "a.csv,b/*.csv" }),
        ("test_files", "t.csv", { $0.testFiles == "t.csv" }),
        ("infer_schema", "true", { $0.inferSchema }),
        ("output_dir", "runs/a", { $0.outputDir == "runs/a" }),
        ("seed", "18446744073709551615", { $0.seed == UInt64.max }),
        ("threads", "2", { $0.threads == 2 }),
        ("correlation", "-0.5", { $0.correlation == -0.5 }),
        ("synthetic_dim", "20", { $0.syntheticDim == 20 }),
        ("synthetic_scale", "2.5", { $0.syntheticScale == 2.5 }),
        ("synthetic_sin_terms", "0", { $0.syntheticSinTerms == 0 }),
        ("synthetic_alpha_beta_std", "0.1", { $0.syntheticAlphaBetaStd == 0.1 }),
        ("synthetic_noise", "0", { $0.syntheticNoise == 0 }),
        ("expert_relu_on_last", "True", { $0.expertReluOnLast }),
        ("gate_init", "zero", { $0.gateInit == .zero }),
        ("train_eval_rows", "250", { $0.trainEvalRows == 250 }),
        ("gate_report", "true", { $0.gateReport }),
        ("tensorboard", "false", { !$0.tensorboard }),
        ("task_weights", "1, 0.5", { $0.taskWeights == [1, 0.5] }),
        ("task_conditions", "-, ctr", { $0.taskConditions == ["-", "ctr"] }),
        ("valid_fraction", "0.1", { $0.validFraction == 0.1 }),
        ("valid_files", "v.csv", { $0.validFiles == ["v.csv"] }),
        ("early_stopping_patience", "3", { $0.earlyStoppingPatience == 3 }),
        ("early_stopping_metric", "loss", { $0.earlyStoppingMetric == .loss }),
        ("parquet_stream", "on", { $0.parquetStream == .on }),
        ("shuffle_window", "4096", { $0.shuffleWindow == 4096 }),
        ("help", "true", { $0.help }),
    ]

    func testTheTableCoversEveryFlag() {
        XCTAssertEqual(everyFlag.map(\.name), TrainOptions.parser.flags.map(\.name))
    }

    func testEveryFlagInBothForms() throws {
        for (name, value, check) in everyFlag {
            for arguments in [["--\(name)", value], ["--\(name)=\(value)"]] {
                let o = try TrainOptions.parse(arguments)
                XCTAssertTrue(check(o), "\(arguments)")
                XCTAssertFalse(check(TrainOptions()), "\(name): test value equals the default")
                XCTAssertEqual(o.explicitFlags, [name], "\(arguments)")
                // Nothing else moved: the same as writing only this flag's field into the defaults.
                let flag = try XCTUnwrap(TrainOptions.parser.flags.first { $0.name == name })
                var reference = TrainOptions()
                try flag.assign(&reference, value)
                reference.explicitFlags = [name]
                XCTAssertEqual(o, reference, "\(arguments) changed more than --\(name)")
            }
        }
    }

    // MARK: the reference launch script

    /// The argument list of OneFlow's `train_mmoe.sh`, after the shell has removed its quotes.
    func testReferenceLaunchScript() throws {
        let arguments = [
            "--data_dir", "/path/to/mmoe_parquet",
            "--persistent_path", "/path/to/persistent",
            "--table_size_array", "9, 52, 47, 17, 3, 24, 15, 5, 10, 2, 3, 6, 8, 6, 6, 51, 38, 8, 10, 9, 10, 3, 4, 5, 43, 43, 43, 5, 3",
            "--store_type", "cached_host_mem",
            "--cache_memory_budget_mb", "1024",
            "--batch_size", "256",
            "--train_batches", "16000",
            "--loss_print_interval", "100",
            "--learning_rate", "0.001",
            "--embedding_vec_size", "4",
            "--expert_dnn", "256, 128",
            "--num_train_samples", "199523",
            "--num_test_samples", "99762",
            "--model_save_dir", "/path/to/model/save/dir",
        ]
        var expected = TrainOptions()
        expected.dataDir = "/path/to/mmoe_parquet"
        expected.persistentPath = "/path/to/persistent"
        expected.tableSizeArray = [9, 52, 47, 17, 3, 24, 15, 5, 10, 2, 3, 6, 8, 6, 6, 51, 38, 8, 10, 9, 10, 3, 4, 5, 43, 43, 43, 5, 3]
        expected.embeddingVecSize = 4
        expected.numTrainSamples = 199523
        expected.numTestSamples = 99762
        expected.modelSaveDir = "/path/to/model/save/dir"
        expected.explicitFlags = [
            "data_dir", "persistent_path", "table_size_array", "store_type", "cache_memory_budget_mb", "batch_size",
            "train_batches", "loss_print_interval", "learning_rate", "embedding_vec_size", "expert_dnn",
            "num_train_samples", "num_test_samples", "model_save_dir",
        ]
        let o = try TrainOptions.parse(arguments)
        XCTAssertEqual(o, expected)
        XCTAssertEqual(o.tableSizeArray?.count, 29)
        // cached_host_mem with --persistent_path acts (the table is persisted there); only the
        // cache budget, which applies to cached_ssd, has no effect.
        XCTAssertEqual(o.notYetNotices, ["note: --cache_memory_budget_mb 1024 applies to --store_type cached_ssd; cached_host_mem keeps the whole table in RAM"])
        XCTAssertEqual(o.embeddingStoreDirectory, "/path/to/persistent")
    }

    // MARK: values

    func testListForms() throws {
        for text in ["256, 128", "256,128", "[256, 128]", "[256,128]", " [ 256 , 128 ] "] {
            XCTAssertEqual(try TrainOptions.parse(["--expert_dnn", text]).expertDNN, [256, 128], text)
            XCTAssertEqual(try TrainOptions.parse(["--expert_dnn=\(text)"]).expertDNN, [256, 128], text)
        }
        XCTAssertEqual(try TrainOptions.parse(["--expert_dnn", "512"]).expertDNN, [512])
        for text in ["", "[]", "[ ]"] {
            XCTAssertEqual(try TrainOptions.parse(["--gate_dnn", text]).gateDNN, [], text)
            XCTAssertEqual(try TrainOptions.parse(["--tower_dnn=\(text)"]).towerDNN, [], text)
        }
        let o = try TrainOptions.parse(["--gate_dnn", "[]", "--tower_dnn", ""])
        XCTAssertEqual(o.explicitFlags, ["gate_dnn", "tower_dnn"])
    }

    func testBooleans() throws {
        XCTAssertTrue(try TrainOptions.parse(["--amp"]).amp)
        XCTAssertTrue(try TrainOptions.parse(["--amp", "--batch_size", "8"]).amp)
        for (text, value) in [("true", true), ("True", true), ("1", true), ("false", false), ("False", false), ("0", false)] {
            XCTAssertEqual(try TrainOptions.parse(["--amp=\(text)"]).amp, value, text)
        }
        for (text, value) in [("True", true), ("true", true), ("False", false), ("false", false)] {
            let o = try TrainOptions.parse(["--save_initial_model", text, "--num_experts", "4"])
            XCTAssertEqual(o.saveInitialModel, value, text)
            XCTAssertEqual(o.numExperts, 4)
        }
        // An explicit false is still "given".
        XCTAssertEqual(try TrainOptions.parse(["--amp=false"]).explicitFlags, ["amp"])
    }

    func testNegativeValuesAreValuesNotFlags() throws {
        XCTAssertEqual(try TrainOptions.parse(["--correlation", "-0.5"]).correlation, -0.5)
        XCTAssertEqual(try TrainOptions.parse(["--correlation", "-1"]).correlation, -1)
        XCTAssertEqual(try TrainOptions.parse(["--correlation=-1"]).correlation, -1)
        XCTAssertEqual(try TrainOptions.parse(["--output_dir", "-weird"]).outputDir, "-weird")
    }

    func testRepeatedFlagLastWins() throws {
        let o = try TrainOptions.parse(["--batch_size", "8", "--batch_size=16", "--amp", "--amp=false"])
        XCTAssertEqual(o.batchSize, 16)
        XCTAssertFalse(o.amp)
        XCTAssertEqual(o.explicitFlags, ["batch_size", "amp"])
    }

    func testHelp() throws {
        XCTAssertTrue(try TrainOptions.parse(["-h"]).help)
        XCTAssertTrue(try TrainOptions.parse(["--help"]).help)
        XCTAssertEqual(try TrainOptions.parse(["-h"]).explicitFlags, ["help"])
    }

    func testValuesAtTheEdgeOfTheirRange() throws {
        XCTAssertEqual(try TrainOptions.parse(["--threads", "0"]).threads, 0)
        XCTAssertEqual(try TrainOptions.parse(["--net_dropout", "0"]).netDropout, 0)
        XCTAssertEqual(try TrainOptions.parse(["--net_dropout", "0.99"]).netDropout, 0.99)
        XCTAssertEqual(try TrainOptions.parse(["--lr_factor", "1"]).lrFactor, 1)
        XCTAssertEqual(try TrainOptions.parse(["--min_lr", "0"]).minLR, 0)
        XCTAssertEqual(try TrainOptions.parse(["--correlation", "1"]).correlation, 1)
        XCTAssertEqual(try TrainOptions.parse(["--seed", "0"]).seed, 0)
    }

    // MARK: errors

    func testUnknownFlag() {
        assertError(["--batch_sise", "8"], "unknown flag --batch_sise; did you mean --batch_size?")
        assertError(["--batch-size", "8"], "unknown flag --batch-size; did you mean --batch_size?")
        assertError(["--cache-memory-budget-mb", "8"], "unknown flag --cache-memory-budget-mb; did you mean --cache_memory_budget_mb?")
        assertError(["--learning", "0.1"], "unknown flag --learning; did you mean --learning_rate?")
        assertError(["--expert_dnns=1"], "unknown flag --expert_dnns; did you mean --expert_dnn?")
        assertError(["-batch_size", "8"], "unknown flag -batch_size; did you mean --batch_size?")
        assertError(["--foo"], "unknown flag --foo")
        assertError(["--nproc_per_node", "1"], "unknown flag --nproc_per_node")
        assertError(["-x"], "unknown flag -x")
        assertError(["---batch_size", "8"], "unknown flag ---batch_size; did you mean --batch_size?")
        assertError(["--=8"], "unknown flag --=8")
    }

    func testMissingValue() {
        assertError(["--batch_size"], "--batch_size: missing value (expected an integer)")
        assertError(["--amp", "--data_dir"], "--data_dir: missing value (expected a path)")
        assertError(["--learning_rate"], "--learning_rate: missing value (expected a number)")
        assertError(["--store_type"], "--store_type: missing value (expected one of device_mem, cached_host_mem, cached_ssd)")
        assertError(["--expert_dnn"], "--expert_dnn: missing value (expected a list such as \"256, 128\")")
    }

    func testBadNumbers() {
        assertError(["--batch_size", "12x"], "--batch_size: \"12x\" is not an integer")
        assertError(["--batch_size=256.0"], "--batch_size: \"256.0\" is not an integer")
        assertError(["--num_train_samples", ""], "--num_train_samples: \"\" is not an integer")
        assertError(["--learning_rate", "fast"], "--learning_rate: \"fast\" is not a number")
        assertError(["--learning_rate", "nan"], "--learning_rate: \"nan\" is not a finite number")
        assertError(["--min_lr", "inf"], "--min_lr: \"inf\" is not a finite number")
        assertError(["--seed", "-1"], "--seed: \"-1\" is not a non-negative integer that fits in 64 bits")
        assertError(["--seed", "18446744073709551616"], "--seed: \"18446744073709551616\" is not a non-negative integer that fits in 64 bits")
    }

    func testOutOfRange() {
        for name in ["batch_size", "train_batches", "loss_print_interval", "num_experts", "num_tasks",
                     "embedding_vec_size", "cache_memory_budget_mb", "num_train_samples", "num_test_samples"] {
            assertError(["--\(name)", "0"], "--\(name): 0 is out of range, must be > 0")
            assertError(["--\(name)=-3"], "--\(name): -3 is out of range, must be > 0")
        }
        assertError(["--threads", "-1"], "--threads: -1 is out of range, must be >= 0")
        assertError(["--net_dropout", "1"], "--net_dropout: 1 is out of range, must be in [0, 1)")
        assertError(["--net_dropout", "-0.1"], "--net_dropout: -0.1 is out of range, must be in [0, 1)")
        assertError(["--learning_rate", "0"], "--learning_rate: 0 is out of range, must be > 0")
        assertError(["--lr_factor", "0"], "--lr_factor: 0 is out of range, must be in (0, 1]")
        assertError(["--lr_factor", "1.5"], "--lr_factor: 1.5 is out of range, must be in (0, 1]")
        assertError(["--min_lr", "-1e-6"], "--min_lr: -1e-6 is out of range, must be >= 0")
        assertError(["--correlation", "1.5"], "--correlation: 1.5 is out of range, must be in [-1, 1]")
        assertError(["--correlation", "-1.01"], "--correlation: -1.01 is out of range, must be in [-1, 1]")
    }

    func testBadEnum() {
        assertError(["--store_type", "ssd"], "--store_type: \"ssd\" is not one of device_mem, cached_host_mem, cached_ssd")
        assertError(["--loss_scale_policy=Dynamic"], "--loss_scale_policy: \"Dynamic\" is not one of static, dynamic")
        assertError(["--dataset", "criteo"], "--dataset: \"criteo\" is not one of census, taobao, synthetic, schema")
    }

    func testBadLists() {
        assertError(["--expert_dnn", "256, x"], "--expert_dnn: entry \"x\" in \"256, x\" is not a positive integer")
        assertError(["--gate_dnn", "256,,128"], "--gate_dnn: entry \"\" in \"256,,128\" is not a positive integer")
        assertError(["--tower_dnn", "8, 0"], "--tower_dnn: entry \"0\" in \"8, 0\" is not a positive integer")
        assertError(["--tower_dnn", "8 4"], "--tower_dnn: entry \"8 4\" in \"8 4\" is not a positive integer")
        assertError(["--table_size_array", "[9, 52"], "--table_size_array: entry \"[9\" in \"[9, 52\" is not a positive integer")
        assertError(["--expert_dnn", ""], "--expert_dnn: needs at least one entry, got \"\"")
        assertError(["--expert_dnn=[]"], "--expert_dnn: needs at least one entry, got \"[]\"")
        assertError(["--table_size_array", "[]"], "--table_size_array: needs at least one entry, got \"[]\"")
    }

    func testBadBooleanAndPaths() {
        assertError(["--amp=yes"], "--amp: \"yes\" is not a boolean (true, false, 1 or 0)")
        assertError(["--data_dir", ""], "--data_dir: empty path")
        assertError(["--output_dir="], "--output_dir: empty path")
    }

    func testPositionalArguments() {
        assertError(["data"], "unexpected argument \"data\" (options are written --flag value; see --help)")
        assertError(["--batch_size", "8", "16"], "unexpected argument \"16\" (options are written --flag value; see --help)")
        assertError(["-0.5"], "unexpected argument \"-0.5\" (options are written --flag value; see --help)")
        assertError(["--"], "unexpected argument \"--\" (options are written --flag value; see --help)")
        assertError(["--amp", "yes"], "unexpected argument \"yes\" after --amp, which takes no value (write --amp=true or --amp=false)")
        assertError(["--amp", "1"], "unexpected argument \"1\" after --amp, which takes no value (write --amp=true or --amp=false)")
    }

    // MARK: notices and help

    func testNoticesOnlyForFlagsGiven() throws {
        XCTAssertEqual(TrainOptions().notYetNotices, [])
        XCTAssertEqual(try TrainOptions.parse(["--batch_size", "8", "--expert_dnn", "4"]).notYetNotices, [])
        // Asking for what already happens is not worth a note.
        XCTAssertEqual(try TrainOptions.parse(["--store_type", "device_mem", "--amp=false"]).notYetNotices, [])
        // --amp acts; its policy flag acts with it.
        XCTAssertEqual(try TrainOptions.parse(["--amp", "--loss_scale_policy", "dynamic"]).notYetNotices, [])

        XCTAssertEqual(try TrainOptions.parse(["--store_type", "cached_ssd", "--persistent_path", "/x", "--cache_memory_budget_mb", "64"]).notYetNotices, [])
        XCTAssertEqual(try TrainOptions.parse(["--store_type", "cached_host_mem", "--persistent_path", "/x"]).notYetNotices, [])
        let cases: [([String], String)] = [
            (["--store_type", "device_mem", "--persistent_path", "/x"],
             "note: --persistent_path /x is not used by --store_type device_mem, which keeps the embeddings in RAM and persists nothing"),
            (["--store_type", "cached_host_mem"],
             "note: --store_type cached_host_mem without --persistent_path persists nothing: the embeddings stay in RAM (device_mem behaviour)"),
            (["--cache_memory_budget_mb", "512"],
             "note: --cache_memory_budget_mb 512 applies to --store_type cached_ssd; cached_host_mem keeps the whole table in RAM"),
            (["--loss_scale_policy", "static"],
             "note: --loss_scale_policy static applies to --amp training; without --amp the loss is not scaled"),
        ]
        for (arguments, note) in cases {
            XCTAssertEqual(try TrainOptions.parse(arguments).notYetNotices, [note], "\(arguments)")
        }
        // Several at once, in flag-table order.
        let two = try TrainOptions.parse(cases[3].0 + cases[0].0)
        XCTAssertEqual(two.notYetNotices, [cases[0].1, cases[3].1])
    }

    func testHelpTextNamesEveryFlagWithItsDefault() {
        let defaults: [String: String] = [
            "data_dir": "none", "num_train_samples": "all rows; synthetic: 100000", "num_test_samples": "all rows; synthetic: 20000",
            "model_load_dir": "none", "model_save_dir": "none", "save_initial_model": "false",
            "save_model_after_each_eval": "false", "num_experts": "3; Taobao: 4", "num_tasks": "2", "embedding_vec_size": "16",
            "expert_dnn": "[256, 128]; Taobao: [256, 192, 128, 64]", "gate_dnn": "[]", "tower_dnn": "[]; Taobao: [256, 192, 128, 64]", "net_dropout": "0.0",
            "learning_rate": "0.001; Taobao: 0.1", "lr_factor": "1.0", "min_lr": "1e-06", "batch_size": "256; Taobao: 512",
            "train_batches": "16000", "loss_print_interval": "100", "table_size_array": "Census: the reference launch script's 29 sizes",
            "persistent_path": "none", "store_type": "cached_host_mem", "cache_memory_budget_mb": "1024", "embedding_sharding": "replicated", "rank_input": "share",
            "amp": "false", "loss_scale_policy": "static", "dataset": "detect", "output_dir": "./result",
            "census_tasks": "income,marital", "schema": "none", "train_files": "train.* in data_dir", "test_files": "test.* in data_dir",
            "infer_schema": "false",
            "seed": "2019; Taobao: 2021", "threads": "0", "correlation": "0.5", "gate_report": "false", "gate_init": "xavier", "train_eval_rows": "0", "tensorboard": "true", "expert_relu_on_last": "false; Taobao: true", "help": "false",
            "data_location": "none", "steps": "as --train_batches; Taobao: 0", "no_eval": "false", "checkpoint": "none",
            "save_steps": "none", "keep_checkpoint_max": "1", "timeline": "off", "l2_regularization": "0.0; Taobao: 1e-06",
            "optimizer": "adam; Taobao: adagrad", "protocol": "grpc", "inter": "0", "intra": "0", "input_layer_partitioner": "0",
            "dense_layer_partitioner": "0", "bf16": "false", "emb_fusion": "true", "op_fusion": "true", "smartstaged": "true",
            "micro_batch": "0", "tf": "false", "workqueue": "false", "ev": "false", "ev_filter": "None", "ev_elimination": "None",
            "adaptive_emb": "false", "dynamic_ev": "false", "multihash": "false", "incremental_ckpt": "0", "model": "mmoe",
            "clamp_price": "false", "task_types": "[]", "bottom_dnn": "expert_dnn", "task_experts": "1", "shared_experts": "1",
            "ple_levels": "2", "synthetic_dim": "100", "synthetic_scale": "1.0", "synthetic_sin_terms": "10",
            "synthetic_alpha_beta_std": "1.0", "synthetic_noise": "0.1",
            "ev_filter_freq": "3", "ev_cbf_max_elements": "1048576", "ev_cbf_false_positive": "0.01", "ev_steps_to_live": "4000",
            "ev_l2_weight_threshold": "1.0", "ev_eviction_interval": "100",
            "task_weights": "[]", "task_conditions": "[]", "valid_fraction": "none", "valid_files": "none",
            "early_stopping_patience": "0", "early_stopping_metric": "auc_mean",
            "parquet_stream": "auto", "shuffle_window": "131072",
        ]
        XCTAssertEqual(Set(defaults.keys), Set(everyFlag.map(\.name)))
        let lines = TrainOptions.helpText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertTrue(lines[0].hasPrefix("usage: mmoe-train"))
        XCTAssertTrue(lines.contains("OneFlow MMoE arguments:"))
        XCTAssertTrue(lines.contains("mmoe-swift arguments:"))
        for (name, value) in defaults {
            // The flag's line and its continuation lines (indented, not starting a new flag).
            guard let at = lines.firstIndex(where: { $0.contains("--\(name) ") || $0.hasSuffix("--\(name)") }) else {
                XCTFail("--help does not mention --\(name)")
                continue
            }
            let continuation = lines[(at + 1)...].prefix { $0.hasPrefix("      ") }
            let entry = ([lines[at]] + continuation).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
            XCTAssertTrue(entry.hasSuffix("(default: \(value))"), "--\(name): \(entry)")
        }
        XCTAssertTrue(lines.contains { $0.hasPrefix("  -h, --help") })
        XCTAssertLessThanOrEqual(lines.map(\.count).max() ?? 0, 100)
    }
}
