/// Defaults that follow the data, and the checks that tie DeepRec's flags together.
///
/// A user of OneFlow's Census example and a user of DeepRec's Taobao example each expect their own
/// defaults from one `mmoe-train`. The flag table holds OneFlow's; `resolved(for:)` swaps in
/// DeepRec's for Taobao data, for every flag the user did not write.
extension TrainOptions {
    /// These options with the defaults of `kind`'s reference filled in where no flag was given.
    /// Taobao takes the DeepRec model zoo's: batch 512, learning rate 0.1, adagrad, L2 1e-6 on
    /// dense weights, seed 2021, steps 0 (1000 epochs), and its MMoE (embedding 16, 4 experts of
    /// [256, 192, 128, 64], towers [256, 192, 128, 64]).
    public func resolved(for kind: DatasetKind) -> TrainOptions {
        var o = self
        func unset(_ names: String...) -> Bool { names.allSatisfy { !explicitFlags.contains($0) } }
        if kind == .taobao {
            if unset("batch_size") { o.batchSize = 512 }
            if unset("learning_rate") { o.learningRate = 0.1 }
            if unset("optimizer") { o.optimizer = .adagrad }
            if unset("l2_regularization") { o.l2Regularization = 1e-6 }
            if unset("seed") { o.seed = 2021 }
            if unset("steps", "train_batches") { o.steps = 0 }
            if unset("num_experts") { o.numExperts = 4 }
            if unset("expert_dnn") { o.expertDNN = [256, 192, 128, 64] }
            if unset("tower_dnn") { o.towerDNN = [256, 192, 128, 64] }
            if unset("expert_relu_on_last") { o.expertReluOnLast = true }
        }
        if kind == .synthetic && unset("steps", "train_batches") { o.trainBatches = o.syntheticDefaultSteps }
        if tf {
            o.embFusion = false
            o.opFusion = false
            o.smartstaged = false
            o.bf16 = false
            o.microBatch = 0
            o.workqueue = false
        }
        return o
    }

    /// The built-in synthetic data's own run length when no `--train_batches`/`--steps` is given:
    /// 2 epochs (782 steps of 256 over its 100,000 rows), a few seconds of training. OneFlow's
    /// 16,000 steps are 40 epochs there, and the model memorises the rows: the test loss is
    /// lowest after epoch 2 and rises from epoch 3 or 4 on (see TensorBoardAndReports).
    public static let syntheticDefaultEpochs = 2

    var syntheticDefaultSteps: Int {
        let rows = numTrainSamples ?? 100_000
        let batchesPerEpoch = (rows + batchSize - 1) / batchSize
        let micro = max(1, microBatch)
        return max(1, (Self.syntheticDefaultEpochs * batchesPerEpoch + micro - 1) / micro)
    }

    /// Flag combinations that cannot mean anything; the message names the flag.
    public func checkCombinations() throws(OptionsError) {
        try checkModelFlags()
        try checkEmbeddingStoreFlags()
        try checkTaskFlags()
        if tf {
            for flag in ["bf16", "amp", "micro_batch", "workqueue"] where explicitFlags.contains(flag) {
                throw OptionsError("--tf turns every optimisation off, so it cannot be combined with --\(flag); drop one of them")
            }
            for flag in ["emb_fusion", "op_fusion", "smartstaged"] where explicitFlags.contains(flag) {
                throw OptionsError("--tf turns \(flag) off, so it cannot be combined with --\(flag); drop one of them")
            }
        }
        if explicitFlags.contains("steps") && explicitFlags.contains("train_batches") && steps != trainBatches {
            throw OptionsError("--steps \(steps!) and --train_batches \(trainBatches) are the same setting; give one")
        }
        if explicitFlags.contains("data_dir") && explicitFlags.contains("data_location") {
            throw OptionsError("--data_location and --data_dir are the same setting; give one")
        }
        if let s = saveSteps, s > 0, checkpoint == nil, modelSaveDir == nil {
            throw OptionsError("--save_steps \(s) needs a directory to save into: --checkpoint DIR or --model_save_dir DIR")
        }
        if checkpoint != nil && modelLoadDir != nil {
            throw OptionsError("--checkpoint resumes from its latest checkpoint and --model_load_dir loads another model; give one")
        }
    }

    /// How the user wrote the data directory's flag, for messages about it.
    var dataDirFlag: String { explicitFlags.contains("data_location") ? "--data_location" : "--data_dir" }

    /// One line for each flag accepted for DeepRec compatibility that a single process cannot act on.
    public var ignoredNotices: [String] {
        var notes: [String] = []
        if explicitFlags.contains("protocol") {
            notes.append("note: --protocol \(distributedProtocol.rawValue) accepted; single-process training starts no parameter server, so it is ignored")
        }
        if explicitFlags.contains("input_layer_partitioner") {
            notes.append("note: --input_layer_partitioner \(inputLayerPartitioner) accepted; single-process training does not partition variables over parameter servers, so it is ignored")
        }
        if explicitFlags.contains("dense_layer_partitioner") {
            notes.append("note: --dense_layer_partitioner \(denseLayerPartitioner) accepted; single-process training does not partition variables over parameter servers, so it is ignored")
        }
        return notes
    }
}
