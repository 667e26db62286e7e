import XCTest
@testable import MMoE

/// DeepRec's argument table in the one CLI: spellings, per-dataset defaults, and refusals.
final class DeepRecOptionsTests: XCTestCase {
    func testDeepRecLaunchLineParses() throws {
        let o = try TrainOptions.parse(["--data_location", "./data", "--steps", "400", "--optimizer", "adagrad", "--bf16",
                                        "--emb_fusion", "False", "--op_fusion", "True", "--smartstaged", "False",
                                        "--micro_batch", "2", "--no_eval", "--checkpoint", "/tmp/ck", "--save_steps", "100",
                                        "--keep_checkpoint_max", "3", "--timeline", "50", "--l2_regularization", "1e-5",
                                        "--inter", "4", "--intra", "1", "--protocol", "grpc++", "--input_layer_partitioner", "8",
                                        "--dense_layer_partitioner", "16", "--workqueue", "True", "--ev", "False"])
        XCTAssertEqual(o.dataDir, "./data")
        XCTAssertEqual(o.steps, 400)
        XCTAssertEqual(o.optimizer, .adagrad)
        XCTAssertTrue(o.bf16)
        XCTAssertFalse(o.embFusion)
        XCTAssertTrue(o.opFusion)
        XCTAssertFalse(o.smartstaged)
        XCTAssertEqual(o.microBatch, 2)
        XCTAssertTrue(o.noEval)
        XCTAssertEqual(o.checkpoint, "/tmp/ck")
        XCTAssertEqual(o.saveSteps, 100)
        XCTAssertEqual(o.keepCheckpointMax, 3)
        XCTAssertEqual(o.timeline, 50)
        XCTAssertEqual(o.l2Regularization, 1e-5)
        XCTAssertEqual(o.inter, 4)
        XCTAssertEqual(o.intra, 1)
        XCTAssertEqual(o.distributedProtocol, .grpcPlusPlus)
        XCTAssertTrue(o.workqueue)
        XCTAssertFalse(o.ev)
        XCTAssertNoThrow(try o.checkCombinations())
        XCTAssertEqual(o.ignoredNotices.count, 3)
        XCTAssertTrue(o.ignoredNotices[0].contains("--protocol grpc++"), o.ignoredNotices[0])
    }

    func testTaobaoDefaultsFollowDeepRecAndExplicitFlagsWin() throws {
        let plain = try TrainOptions.parse([]).resolved(for: .taobao)
        XCTAssertEqual(plain.batchSize, 512)
        XCTAssertEqual(plain.learningRate, 0.1)
        XCTAssertEqual(plain.optimizer, .adagrad)
        XCTAssertEqual(plain.l2Regularization, 1e-6)
        XCTAssertEqual(plain.seed, 2021)
        XCTAssertEqual(plain.steps, 0)
        XCTAssertEqual(plain.numExperts, 4)
        XCTAssertEqual(plain.expertDNN, [256, 192, 128, 64])
        XCTAssertEqual(plain.towerDNN, [256, 192, 128, 64])
        XCTAssertEqual(plain.embeddingVecSize, 16)

        let census = try TrainOptions.parse([]).resolved(for: .census)
        XCTAssertEqual(census.batchSize, 256)
        XCTAssertEqual(census.learningRate, 0.001)
        XCTAssertEqual(census.optimizer, .adam)
        XCTAssertEqual(census.l2Regularization, 0)
        XCTAssertNil(census.steps)

        let given = try TrainOptions.parse(["--batch_size", "128", "--learning_rate", "0.05", "--optimizer", "adam",
                                            "--expert_dnn", "64", "--train_batches", "7", "--seed", "5"]).resolved(for: .taobao)
        XCTAssertEqual(given.batchSize, 128)
        XCTAssertEqual(given.learningRate, 0.05)
        XCTAssertEqual(given.optimizer, .adam)
        XCTAssertEqual(given.expertDNN, [64])
        XCTAssertEqual(given.towerDNN, [256, 192, 128, 64])
        XCTAssertNil(given.steps)
        XCTAssertEqual(given.trainBatches, 7)
        XCTAssertEqual(given.seed, 5)
    }

    func testTfTurnsEveryOptimisationOff() throws {
        let o = try TrainOptions.parse(["--tf"]).resolved(for: .taobao)
        XCTAssertFalse(o.embFusion || o.opFusion || o.smartstaged || o.bf16 || o.workqueue)
        XCTAssertEqual(o.microBatch, 0)
        for flag in [["--bf16"], ["--amp"], ["--micro_batch", "2"], ["--workqueue", "True"], ["--emb_fusion", "True"]] {
            let o = try TrainOptions.parse(["--tf", "True"] + flag)
            XCTAssertThrowsError(try o.checkCombinations(), "\(flag)") { error in
                XCTAssertTrue("\(error)".contains("--tf"), "\(error)")
                XCTAssertTrue("\(error)".contains(flag[0]), "\(error)")
            }
        }
    }

    func testEmbeddingStoreFlagCombinations() throws {
        // What is built parses and passes.
        for args in [["--ev", "True"], ["--ev", "True", "--ev_filter", "counter"], ["--ev", "True", "--ev_filter", "cbf", "--ev_filter_freq", "5"],
                     ["--ev", "True", "--ev_elimination", "gstep", "--ev_steps_to_live", "10"], ["--adaptive_emb", "True"],
                     ["--adaptive_emb", "True", "--ev_filter_freq", "4"], ["--multihash", "True"],
                     ["--ev", "True", "--ev_elimination", "l2", "--ev_l2_weight_threshold", "0.1", "--ev_eviction_interval", "10"],
                     ["--ev", "True", "--checkpoint", "ck"], ["--multihash", "True", "--model_save_dir", "m"],
                     ["--adaptive_emb", "True", "--model_load_dir", "m"], ["--incremental_ckpt", "60", "--checkpoint", "ck"],
                     ["--incremental_ckpt", "60", "--store_type", "cached_ssd", "--persistent_path", "p"],
                     ["--incremental_ckpt", "60", "--persistent_path", "p"]] {
            XCTAssertNoThrow(try TrainOptions.parse(args).checkCombinations(), "\(args)")
        }
        XCTAssertNoThrow(try TrainOptions.parse(["--ev", "False", "--ev_filter", "None", "--ev_elimination", "None"]).checkCombinations())
        // What is not, or cannot mean anything, is refused naming the flag.
        let refused: [([String], String)] = [
            (["--dynamic_ev", "True"], "not built"), (["--incremental_ckpt", "60"], "give --checkpoint DIR"),
            (["--incremental_ckpt", "60", "--model_save_dir", "m"], "give --checkpoint DIR"),
            (["--store_type", "cached_ssd", "--ev", "True"], "--store_type cached_ssd keeps the embedding table in files under --persistent_path"),
            (["--ev_filter", "counter"], "needs --ev True"), (["--ev_elimination", "gstep"], "needs --ev True"),
            (["--ev", "True", "--ev_filter_freq", "5"], "--ev_filter_freq applies"),
            (["--ev", "True", "--ev_filter", "counter", "--ev_cbf_max_elements", "10"], "--ev_cbf_max_elements"),
            (["--ev", "True", "--ev_steps_to_live", "10"], "--ev_steps_to_live applies"),
            (["--ev", "True", "--ev_elimination", "gstep", "--ev_l2_weight_threshold", "0.5"], "--ev_l2_weight_threshold applies"),
            (["--ev", "True", "--ev_eviction_interval", "5"], "--ev_eviction_interval applies"),
            (["--ev", "True", "--ev_filter", "cbf", "--ev_filter_freq", "300"], "at most 255"),
            (["--ev", "True", "--multihash", "True"], "two different embedding tables"),
        ]
        for (args, message) in refused {
            XCTAssertThrowsError(try TrainOptions.parse(args).checkCombinations(), "\(args)") { error in
                XCTAssertTrue("\(error)".contains(message), "\(args): \(error)")
            }
        }
    }

    func testConflictingSpellingsAndMissingSaveDirectory() throws {
        XCTAssertThrowsError(try TrainOptions.parse(["--steps", "5", "--train_batches", "6"]).checkCombinations())
        XCTAssertNoThrow(try TrainOptions.parse(["--steps", "6", "--train_batches", "6"]).checkCombinations())
        XCTAssertThrowsError(try TrainOptions.parse(["--data_dir", "a", "--data_location", "b"]).checkCombinations())
        XCTAssertThrowsError(try TrainOptions.parse(["--save_steps", "10"]).checkCombinations()) { error in
            XCTAssertTrue("\(error)".contains("--checkpoint"), "\(error)")
        }
        XCTAssertThrowsError(try TrainOptions.parse(["--optimizer", "sgd"])) { error in
            XCTAssertEqual("\(error)", "--optimizer: \"sgd\" is not one of adam, adamasync, adagrad, adagraddecay, gradientdescent")
        }
        XCTAssertThrowsError(try TrainOptions.parse(["--protocol", "http"]))
    }

    func testHelpShowsBothTablesAndTaobaoDefaults() {
        let help = TrainOptions.helpText
        XCTAssertTrue(help.contains("OneFlow MMoE arguments:"))
        XCTAssertTrue(help.contains("DeepRec MMoE arguments"))
        for flag in ["--data_location", "--steps", "--no_eval", "--checkpoint", "--save_steps", "--keep_checkpoint_max", "--timeline",
                     "--l2_regularization", "--optimizer", "--protocol", "--inter", "--intra", "--input_layer_partitioner",
                     "--dense_layer_partitioner", "--bf16", "--emb_fusion", "--op_fusion", "--smartstaged", "--micro_batch", "--tf",
                     "--workqueue", "--ev", "--ev_filter", "--ev_elimination", "--adaptive_emb", "--dynamic_ev", "--multihash",
                     "--incremental_ckpt", "--model"] {
            XCTAssertTrue(help.contains(flag), flag)
        }
        let collapsed = help.components(separatedBy: .whitespacesAndNewlines).filter { !$0.isEmpty }.joined(separator: " ")
        XCTAssertTrue(collapsed.contains("(default: 256; Taobao: 512)"), "batch size defaults")
        XCTAssertTrue(collapsed.contains("(default: adam; Taobao: adagrad)"), "optimizer defaults")
        XCTAssertTrue(collapsed.contains("(default: 0.001; Taobao: 0.1)"), "learning rate defaults")
    }

    func testDeepRecStepRule() {
        XCTAssertEqual(TrainCommand.deepRecSteps(rows: 20000, batchSize: 512), 39063)
        XCTAssertEqual(TrainCommand.deepRecSteps(rows: 512, batchSize: 512), 1000)
    }
}
