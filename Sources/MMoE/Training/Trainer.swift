import Foundation
import Tensor
import Datasets

/// How a training run goes; the defaults are the OneFlow example's.
public struct TrainerSettings: Sendable {
    /// Training rows per batch (the last batch of an epoch may be smaller).
    public var batchSize = 256
    /// Steps to run (cycling over epochs).
    public var trainBatches = 16000
    /// A `.step` report every this many steps.
    public var lossPrintInterval = 100
    /// The optimizer's learning rate at the start.
    public var learningRate: Float = 0.001
    /// The optimizer, one of DeepRec's `--optimizer` choices (`adam` is PyTorch-form Adam).
    public var optimizer: OptimizerKind = .adam
    /// The reference's MultiStepLR: at each epoch boundary the rate is multiplied by this factor,
    /// as long as it stays at or above `minLR`. 1 keeps the rate constant.
    public var lrFactor: Float = 1
    /// Where `lrFactor` stops lowering the rate.
    public var minLR: Float = 1e-6
    /// Seeds the shuffling and the dropout masks.
    public var seed: UInt64 = 2019
    /// Rows per forward pass in evaluation (results do not depend on it).
    public var evalBatchSize = 4096
    /// Row shards each training batch is cut into: their forward and backward passes run
    /// concurrently (one per thread) and their gradients are summed in shard order, so results do
    /// not depend on the thread count. 1 runs the batch whole (the GEMMs then split over threads).
    public var batchShards = 2
    /// 0 or 1: one batch per update. N: each update accumulates the gradients of N batches, as
    /// one batch of N x `batchSize` rows (DeepRec's micro_batch_num).
    public var microBatches = 0
    /// Adds l2 · w to the gradient of every dense weight (not biases, not embeddings): TensorFlow's
    /// `l2_regularizer` on dense kernels, loss += l2 · Σw²/2.
    public var l2: Float = 0
    /// Evaluate at each epoch boundary (OneFlow's script) and after the last step; false: after the
    /// last step only (DeepRec's).
    public var evaluateEachEpoch = true
    /// false: no evaluation at all (DeepRec's `--no_eval`).
    public var evaluate = true
    /// A `.checkpointDue` event every this many steps; 0 = none.
    public var saveSteps = 0
    /// An `.incrementalSaveDue` event after the first step that ends at least this many seconds of
    /// wall time after the previous save (of either kind) ended; 0 = none (`--incremental_ckpt`).
    public var incrementalSaveSeconds: Double = 0
    /// How the tapes compute: fused GEMM epilogues or separate ops (`--op_fusion`), Float or
    /// bfloat16-rounded GEMM inputs (`--bf16`). Applies to training and evaluation.
    public var tapeOptions = TapeOptions()
    /// Every this many steps, that step is traced op by op and handed over as a `.timeline`
    /// event (`--timeline`); 0 = never.
    public var timelineEvery = 0
    /// Loss scaling (`--amp`'s `--loss_scale_policy`); nil = the loss is not scaled.
    public var lossScalePolicy: LossScalePolicy? = nil
    /// Clean steps after which a dynamic loss scale doubles.
    public var lossScaleGrowthInterval = LossScaler.defaultGrowthInterval
    /// A `.progress` event after a step that ends this many seconds of wall time after the last
    /// report of either kind, so a run whose `lossPrintInterval` is long still shows it is alive;
    /// 0 = never.
    public var progressSeconds: Double = 0
    /// Per-task loss weights and condition tasks; rows whose label is NaN are left out of that
    /// task (see `TaskLossSettings`).
    public var taskLoss = TaskLossSettings()

    public init() {}
}

/// One printed training step, in the reference's terms.
public struct StepReport: Sendable {
    public let step: Int
    /// Each task's mean loss on this step's batch: BCE for a binary task, MSE for a regression task.
    public let taskLosses: [Double]
    /// Mean wall time per step since the previous report, in milliseconds.
    public let latencyMs: Double
    /// batch size / latency.
    public let samplesPerSecond: Double
    public let learningRate: Float
    /// The loss scale after this step; nil when the loss is not scaled.
    public var lossScale: Float? = nil
}

/// Metrics on the test set after some step.
public struct EvalReport: Sendable {
    public let epoch: Int
    public let step: Int
    /// Per task, in task order; NaN for a regression task.
    public let auc: [Double], logLoss: [Double], accuracy: [Double]
    /// Per task, its test loss: the log loss of a binary task, the MSE of a regression task.
    public let loss: [Double]
    /// Per task, what it predicts (which of the metrics above are defined for it).
    public let taskTypes: [TaskType]
    public let samples: Int
    /// All tasks' scores and labels pooled into one list, as DeepRec's train.py computes its one
    /// AUC and accuracy over both labels (the binary tasks only; NaN when there are none).
    public let pooledAUC: Double, pooledAccuracy: Double
    /// Forward passes, and the metric computation after them.
    public let evalSeconds: Double, metricsSeconds: Double
    /// Per task, the rows its metrics counted (its labelled rows, and for a conditioned task only
    /// those whose condition holds); empty = `samples` for every task.
    public var taskSamples: [Int] = []
    /// Per task, a regression task's mean absolute error (NaN for a binary task).
    public var meanAbsoluteError: [Double] = []
    /// Which rows were scored: the test set, or the validation set that picks the model.
    public var split: EvalSplit = .test
}

/// What the training loop reports as it runs; the command turns these into log lines, records and saves.
public enum TrainingEvent: Sendable {
    /// A printed training step (every `lossPrintInterval` steps).
    case step(StepReport)
    /// An evaluation on the test set.
    case evaluation(EvalReport)
    /// `saveSteps` steps have passed since the last one (the step number is given).
    case checkpointDue(Int)
    /// `incrementalSaveSeconds` have passed since the last save (the step number is given).
    case incrementalSaveDue(Int)
    /// The op-by-op trace of one step (every `timelineEvery` steps).
    case timeline(step: Int, Timeline)
    /// `progressSeconds` have passed without a report (the step just finished is given).
    case progress(step: Int)
    /// With a validation set: training ended (early or not) and the best evaluation's weights
    /// were put back, to be scored on the test set.
    case modelSelected(ModelSelectionReport)
}

/// The outcome of a training run: steps, epochs, time, samples and the final evaluation.
public struct TrainingSummary: Sendable {
    /// Optimizer steps taken.
    public let steps: Int
    /// Training samples seen / training set size.
    public let epochs: Double
    /// Wall-clock seconds spent training (evaluation excluded).
    public let trainSeconds: Double
    /// Training rows consumed.
    public let trainSamples: Int
    /// nil when evaluation is off.
    public let finalEvaluation: EvalReport?
    /// Steps skipped because a dynamically scaled backward overflowed.
    public var skippedSteps = 0
    /// The loss scale at the end; nil when the loss is not scaled.
    public var lossScale: Float? = nil
    /// The last step taken (before `settings.trainBatches` when early stopping ended the run).
    public var lastStep: Int? = nil
    /// Training rows per second.
    public var samplesPerSecond: Double { Double(trainSamples) / trainSeconds }
    /// DeepRec's throughput unit: updates per second.
    public var stepsPerSecond: Double { Double(steps) / trainSeconds }
}

/// A failure during training (non-finite gradients or logits, a training file that ran out, a
/// checkpoint whose trainer state cannot be restored), with its message.
public struct TrainingError: Error, CustomStringConvertible {
    public let description: String
}

/// The training loop: the chosen optimizer on batches from a `BatchSource` (one update per batch,
/// or per `microBatches` batches), a report every `lossPrintInterval` steps, an evaluation at each
/// epoch boundary (OneFlow's script; off with `evaluateEachEpoch`) and after the last step, unless
/// that was a boundary.
public final class Trainer {
    /// The model being trained (its parameters change in place).
    public let model: MMoEModel
    /// The run's settings.
    public let settings: TrainerSettings
    /// The optimizer chosen by `settings.optimizer`, with its state.
    public let optimizer: any Optimizer
    /// The tasks' names, in label order (used in reports).
    public let taskNames: [String]
    /// Where the training batches come from.
    public let source: BatchSource
    /// The training seconds and samples of the steps `run` has taken so far (for checkpoints).
    public private(set) var trainedSeconds = 0.0, trainedSamples = 0
    var dropoutRNG: SeededRNG
    let test: EvalData
    /// Dense weights that L2 applies to: their ranges in the flat parameter buffer.
    let l2Ranges: [Range<Int>]
    /// `l2Ranges` as lane masks for the fused optimizer pass (`fusedShardGradients`); nil without L2.
    let l2Lanes: L2Lanes?
    /// The model itself, then a gradient view of it (`MMoEModel(sharingValuesOf:)`) per further shard.
    let shardModels: [MMoEModel]
    /// Scales the loss and unscales the gradients when `settings.lossScalePolicy` is set.
    public let lossScaler: LossScaler?
    /// Called with the model after each step's backward pass, before the gradients are unscaled:
    /// tests inject an overflow through it.
    var afterBackward: ((MMoEModel) -> Void)?
    /// Where the embedding rows live when not in the model's table (`--ev`, `--multihash`, a
    /// file-backed store): each step pulls its rows from here and writes them back.
    public let embeddingStore: EmbeddingStore?
    /// Rows each task was trained on so far (counted once per step they took part in).
    public internal(set) var trainedTaskRows: [Int]
    /// Validation set, early stopping and the best weights so far (`selectModel(on:...)`); nil:
    /// evaluations are on the test set, as always.
    var selection: ModelSelection?
    /// The other processes of a distributed run (see `Trainer+Distributed.swift`): each computes
    /// its shards of every batch and of every evaluation chunk; nil or one rank: all here.
    public var communicator: (any Communicator)?
    /// The embedding store sharded by key across the ranks (`--embedding_sharding key`; see
    /// `ShardedEmbedding`), and the rows of the step in progress; nil: the store, if any, is whole here.
    public var shardedEmbedding: ShardedEmbedding?
    var shardedStep: ShardedEmbedding.Step?
    /// Whether the dense optimizer state is current only in this rank's block, after split
    /// updates (`gatherOptimizerState` brings the blocks together for a checkpoint).
    var optimizerStateSplit = false

    /// The weights' packed GEMM panels, shared by a step's shards (see `GEMMPackSharing`), and
    /// kept from one step to the next when the optimizer's fused pass rewrites them. Anything
    /// else that writes the dense weights between steps must call `weightPacks.invalidate()`
    /// (`restoreBest` does; so does every update that is not the fused pass).
    let weightPacks = GEMMPackSharing()
    /// Whether the fused pass rewrites the kept packs (tests turn it off for a reference).
    var keepsWeightPacks = true

    /// A batch is cut into shards only when each gets at least this many rows.
    static let minShardRows = 32

    /// How many row shards a batch of `rows` rows runs as: all of `shardModels`, or 1 when a shard
    /// would get fewer than `minShardRows`.
    func shardCount(rows: Int) -> Int {
        rows >= shardModels.count * Self.minShardRows ? shardModels.count : 1
    }

    /// Training on rows in memory (shuffled with `settings.seed`), evaluating on `test`.
    public convenience init(model: MMoEModel, train: TabularData, test: TabularData, settings: TrainerSettings,
                            embeddingStore: EmbeddingStore? = nil) {
        precondition(train.taskCount == model.config.numTasks && test.taskCount == model.config.numTasks,
                     "Trainer: the data has \(train.taskCount) tasks, the model \(model.config.numTasks)")
        self.init(model: model, source: MemoryBatchSource(train, batchSize: settings.batchSize, seed: settings.seed),
                  test: .memory(test), taskNames: train.taskNames, settings: settings, embeddingStore: embeddingStore)
    }

    /// Training on batches from `source` (its batch size wins over `settings.batchSize`). With an
    /// `embeddingStore` (for a model built with `embeddingTable: false`), the rows come from it.
    public init(model: MMoEModel, source: BatchSource, test: EvalData, taskNames: [String], settings: TrainerSettings,
                embeddingStore: EmbeddingStore? = nil) {
        precondition(taskNames.count == model.config.numTasks, "Trainer: \(taskNames.count) task names, the model has \(model.config.numTasks) tasks")
        precondition(embeddingStore == nil || model.embedding == nil,
                     "Trainer: the model has its own embedding table and an embedding store; build it with embeddingTable: false")
        self.embeddingStore = embeddingStore
        self.model = model
        self.settings = settings
        self.test = test
        self.source = source
        self.taskNames = taskNames
        trainedTaskRows = Array(repeating: 0, count: taskNames.count)
        optimizer = makeOptimizer(settings.optimizer, for: model, learningRate: settings.learningRate)
        var offset = 0, ranges: [Range<Int>] = []
        for p in model.parameters.parameters {
            if p.name.hasSuffix(".weight") { ranges.append(offset..<(offset + p.value.count)) }
            offset += p.value.count
        }
        l2Ranges = ranges
        l2Lanes = settings.l2 > 0 ? L2Lanes(count: offset, ranges: ranges) : nil
        dropoutRNG = SeededRNG(seed: settings.seed, stream: .dropout)
        precondition(settings.batchShards >= 1, "Trainer: batchShards must be at least 1, got \(settings.batchShards)")
        shardModels = [model] + (1..<settings.batchShards).map { _ in MMoEModel(sharingValuesOf: model) }
        lossScaler = settings.lossScalePolicy.map { LossScaler(policy: $0, growthInterval: settings.lossScaleGrowthInterval) }
    }

    /// Steps in one pass over the training data.
    public var batchesPerEpoch: Int { source.batchesPerEpoch }

    /// Epoch boundaries at which the reference multiplies the rate by `lrFactor`:
    /// floor(log(minLR / lr) / log(lrFactor)) of them.
    var decayCount: Int {
        guard settings.lrFactor < 1, settings.minLR > 0, settings.minLR < settings.learningRate else { return 0 }
        return Int((log(Double(settings.minLR / settings.learningRate)) / log(Double(settings.lrFactor))).rounded(.down))
    }

    /// One optimisation step on `batch`; returns its logits `[T, B]` (from before the update).
    @discardableResult
    public func trainStep(_ batch: Batch) -> Tensor {
        trainStep([batch])[0]
    }

    /// One optimisation step on the micro-batches `batches`, as one batch of all their rows: each
    /// one's gradient is weighted by its share of the rows. Returns each one's logits. Without an
    /// embedding store nothing here can fail; with one, use `train`, which throws its storage errors.
    ///
    /// With loss scaling the backward is seeded with the scale too, and the gradients are unscaled
    /// before the L2 term and the update; a step the scaler skips changes no parameter and no
    /// optimizer state.
    @discardableResult
    public func trainStep(_ batches: [Batch], timeline: Timeline? = nil) -> [Tensor] {
        precondition(embeddingStore == nil, "Trainer.trainStep: with an embedding store, call train(_:timeline:)")
        return optimisationStep(batches, table: nil, timeline: timeline) {}
    }

    /// The step both paths share: every micro-batch's forward and backward (into `table` when an
    /// embedding store's working table stands in for the model's), the loss scaler's check, L2,
    /// the dense update, then `updateRows` (the store's write-back). Gradients are zeroed after,
    /// also when the scaler skips the step.
    func optimisationStep(_ batches: [Batch], table: EmbeddingTable?, timeline: Timeline?,
                                  updateRows: () throws -> Void) rethrows -> [Tensor] {
        let total = batches.reduce(0) { $0 + $1.size }
        let scale = lossScaler?.scale ?? 1
        // nil: every label counts, all weights 1 (the usual path); else each task's per-row weight.
        let coefficients = taskCoefficients(batches)
        let fuses = fusesDenseUpdate(batches)
        let logits = batches.map {
            accumulateGradients($0, weight: coefficients == nil ? Float($0.size) / Float(total) * scale : scale, timeline: timeline,
                                table: table, coefficients: coefficients, sumDense: !fuses)
        }
        afterBackward?(model)
        // The shards whose dense gradients the optimizer's pass adds (1: summed already).
        let fusedShards = fuses ? shardCount(rows: batches[0].size) : 1
        defer {
            // The next backward pass overwrites the dense gradients (the fused update's too).
            model.parameters.discardGradients()
            model.embedding?.zeroGrad()
        }
        if let lossScaler, !Self.span(timeline, "unscale_gradients", { lossScaler.unscale(model, table: table) }) {
            // A skipped step leaves the store's rows as they were (its pull may still have
            // admitted ids or counted sightings: those are not gradient state).
            table?.zeroGrad()
            return logits
        }
        // Across ranks, each rank updates its block of the dense weights and the blocks are
        // gathered (`denseUpdateBlocks`); in one process, all of them here.
        let blocks = denseUpdateBlocks
        let dense = blocks.map { $0[communicator!.rank] } ?? 0..<model.parameters.count
        if fusedShards > 1 {
            // The pass rewrites the weights' kept GEMM packs too, so the next step packs none.
            let packs = keepsWeightPacks ? weightPacks.refresh(of: model.parameters.values) : nil
            Self.span(timeline, "optimizer.\(settings.optimizer.rawValue)") {
                optimizer.update(model, dense: dense, shards: fusedShardGradients(shards: fusedShards, dense: dense, packs: packs))
            }
            if let packs { weightPacks.finish(packs) }
            discardShardGradients(fusedShards)
        } else {
            weightPacks.invalidate()
            addL2Gradient(timeline, within: dense)
            Self.span(timeline, "optimizer.\(settings.optimizer.rawValue)") { optimizer.update(model, dense: dense) }
        }
        if let blocks { gatherUpdatedWeights(blocks, timeline: timeline) }
        try updateRows()
        return logits
    }

    /// Adds l2 · w to the gradient of every dense weight in `dense` (when `settings.l2` > 0).
    private func addL2Gradient(_ timeline: Timeline?, within dense: Range<Int>) {
        guard settings.l2 > 0 else { return }
        let values = model.parameters.values, grads = model.parameters.grads
        let ranges = dense.count == values.count ? l2Ranges : l2Ranges.map { $0.clamped(to: dense) }.filter { !$0.isEmpty }
        Self.span(timeline, "l2_regularization") {
            Kernels.axpy(settings.l2, values, into: grads, ranges: ranges)
        }
    }

    /// `trainStep`, with the rows pulled from the embedding store when there is one: the step's
    /// rows are pulled into a working table, trained as the model's own table would be, updated
    /// with their optimizer state and written back (see `EmbeddingStore`).
    @discardableResult
    public func train(_ batches: [Batch], timeline: Timeline? = nil) throws -> [Tensor] {
        if let sharded = shardedEmbedding { return try trainSharded(batches, sharded, timeline: timeline) }
        guard let store = embeddingStore else { return trainStep(batches, timeline: timeline) }
        let working = try Self.span(timeline, "embedding_store.pull") { try store.pull(batches, training: true) }
        return try optimisationStep(working.batches, table: working.table, timeline: timeline) {
            try Self.span(timeline, "embedding_store.update") { try store.update(working, optimizer: optimizer) }
        }
    }

    /// Forward and backward of `batch`, adding `weight` times the gradient of its loss to
    /// `model`'s gradients; returns the logits `[T, B]`.
    ///
    /// With `batchShards` S > 1 (and at least `minShardRows` rows per shard), shard s takes rows
    /// [s·B/S, (s+1)·B/S) and its own dropout stream, runs on `shardModels[s]` with its own tape,
    /// and seeds its backward with rows_s / B, because the loss is a mean over the whole batch.
    /// Shards run concurrently under `Parallel.forEach` (their GEMMs then run single-threaded);
    /// the shard gradients are then added into the model's in shard order.
    /// `table`: a store's working table, in place of the model's own (each further shard then
    /// accumulates into a gradient view of it).
    ///
    /// `coefficients`: instead of the model's loss, `maskedLoss` with these per-row task weights
    /// (already divided by the step's counted rows), each shard seeded with `weight` alone.
    /// `sumDense` false leaves the shards' dense gradients unsummed, for the optimizer's pass to
    /// add (`fusesDenseUpdate`).
    func accumulateGradients(_ batch: Batch, weight: Float = 1, timeline: Timeline? = nil, table: EmbeddingTable? = nil,
                             coefficients: [Float]? = nil, sumDense: Bool = true) -> Tensor {
        let b = batch.size
        let shards = shardCount(rows: b)
        guard shards > 1 else {
            let tape = Tape(options: settings.tapeOptions, timeline: timeline)
            let logits = model.logits(batch, tape: tape, training: true, rng: &dropoutRNG, embedding: table)
            tape.backward(coefficients.map { maskedLoss(logits, batch.labels, $0) } ?? model.loss(logits: logits, labels: batch.labels), seed: weight)
            model.parameters.materializeGradients()
            return logits.value
        }
        if let communicator, communicator.size > 1 {
            return accumulateDistributed(batch, shards: shards, weight: weight, timeline: timeline, table: table,
                                         coefficients: coefficients, communicator)
        }
        let seeds = (0..<shards).map { _ in dropoutRNG.next() }
        let ranges = (0..<shards).map { s in (s * b / shards)..<((s + 1) * b / shards) }
        let logits = Tensor(uninitializedShape: [model.config.numTasks, b])
        let tables = table.map { t in [t] + (1..<shards).map { _ in EmbeddingTable(sharingValueOf: t) } }
        // The weights are read-only until the update: the shards share their packed GEMM panels.
        weightPacks.sharing(model.parameters.values, reusingRefreshedPacks: keepsWeightPacks) {
            Parallel.forEach(shards) { s in
                runShard(s, of: batch, ranges: ranges, seed: seeds[s], tables: tables, weight: weight, timeline: timeline,
                         coefficients: coefficients, into: logits)
            }
        }
        Self.span(timeline, "sum_shard_gradients") { sumShardGradients(shards, tables: tables, dense: sumDense) }
        return logits
    }

    /// Forward and backward of shard `s` of `batch` (rows `ranges[s]`) on `shardModels[s]`, with
    /// its own dropout stream `seed` and tape, writing its logits into `logits` `[T, B]`: one
    /// definition of a shard's work for the local step and the distributed one, so both compute
    /// the same bits. The loss is seeded with rows_s / B of `weight` (or, with `coefficients`,
    /// the masked loss already divided by the step's counted rows, with `weight` alone).
    func runShard(_ s: Int, of batch: Batch, ranges: [Range<Int>], seed: UInt64, tables: [EmbeddingTable]?, weight: Float,
                  timeline: Timeline?, coefficients: [Float]?, into logits: Tensor) {
        let part = batch.rows(ranges[s]), replica = shardModels[s]
        var rng = SeededRNG(seed: seed)
        let tape = Tape(options: settings.tapeOptions, timeline: timeline)
        let out = replica.logits(part, tape: tape, training: true, rng: &rng, embedding: tables?[s])
        if let coefficients {
            tape.backward(maskedLoss(out, part.labels, coefficients), seed: weight)
        } else {
            tape.backward(replica.loss(logits: out, labels: part.labels), seed: weight * Float(part.size) / Float(batch.size))
        }
        // Gradients of weights this shard's pass did not reach may still be a finished step's.
        replica.parameters.materializeGradients()
        logits.slice(1, ranges[s]).assign(out.value)
    }

    /// Adds the gradients of shards 1..<shards into the model's, in shard order, zeroing theirs in
    /// the same pass over all threads (and those of the shards' working tables into the first,
    /// when a store's table is in use). `dense` false: the embedding gradients only.
    func sumShardGradients(_ shards: Int, tables: [EmbeddingTable]? = nil, dense: Bool = true) {
        for (s, replica) in shardModels[1..<shards].enumerated() {
            if dense { Kernels.addAndZero(model.parameters.grads, replica.parameters.grads) }
            if let table = model.embedding, let part = replica.embedding {
                table.addGradient(of: part)
                part.zeroGrad()
            }
            if let tables { tables[0].addGradient(of: tables[s + 1]) }
        }
    }

    /// `body`, as a span of `timeline` when there is one.
    static func span<R>(_ timeline: Timeline?, _ name: String, _ body: () throws -> R) rethrows -> R {
        guard let timeline else { return try body() }
        return try timeline.span(name, body)
    }

    /// Each task's mean loss on outputs `[T, B]`: BCE for a binary task, MSE for a regression task
    /// (`types` empty: all binary).
    static func taskLosses(_ logits: Tensor, _ labels: Tensor, types: [TaskType] = []) -> [Double] {
        let t = logits.shape[0]
        return (0..<t).map {
            let x = logits.select(0, $0).scalars, y = labels.select(0, $0).scalars
            return types.isEmpty || types[$0] == .binary ? Metrics.logLoss(logits: x, labels: y) : Metrics.meanSquaredError(predictions: x, labels: y)
        }
    }

    /// Runs steps `firstStep ... settings.trainBatches` (a resumed run starts after its
    /// checkpoint's step), calling `observe` for each report. An error thrown by `observe` stops
    /// the run and is rethrown.
    public func run(from firstStep: Int = 1, _ observe: (TrainingEvent) throws -> Void) throws -> TrainingSummary {
        let perEpoch = batchesPerEpoch
        let decays = decayCount
        let micro = max(1, settings.microBatches)
        var trainSeconds = 0.0, samples = 0
        var batchesRead = (firstStep - 1) * micro, epoch = batchesRead / perEpoch
        var lastReportStep = firstStep - 1, sinceReport = 0.0, rowsSinceReport = 0
        var lastEval: EvalReport?
        var step = firstStep
        var lastSave = DispatchTime.now().uptimeNanoseconds
        var lastShown = lastSave
        // A resumed run continues the learning-rate schedule where the saved run left it.
        if firstStep > 1 { optimizer.learningRate = settings.learningRate * pow(settings.lrFactor, Float(min(epoch, decays))) }
        while step <= settings.trainBatches {
            let start = DispatchTime.now().uptimeNanoseconds
            var batches: [Batch] = []
            var epochEnded = false
            let timeline = settings.timelineEvery > 0 && step % settings.timelineEvery == 0 ? Timeline() : nil
            let stepStart = Timeline.now()
            try Self.span(timeline, "next_batch") {
                for _ in 0..<micro {
                    batches.append(try source.next())
                    batchesRead += 1
                    if batchesRead % perEpoch == 0 { epochEnded = true }
                }
            }
            let logits = try train(batches, timeline: timeline)
            if let lossScaler, lossScaler.overflowAtMinimum {
                throw TrainingError(description: "the gradients became non-finite at step \(step) even at loss scale 1, so loss scaling cannot help; try a lower --learning_rate")
            }
            timeline?.record(name: "train_step", category: "step", start: stepStart, end: Timeline.now(), args: ["step": "\(step)"])
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let rows = batches.reduce(0) { $0 + $1.size }
            trainSeconds += seconds
            trainedSeconds += seconds
            trainedSamples += batches.reduce(0) { $0 + $1.size }
            sinceReport += seconds
            rowsSinceReport += rows
            samples += rows
            // Finite logits give a finite BCE, so the losses themselves are computed only when printed.
            for (l, batch) in zip(logits, batches) where !l.scalars.allSatisfy(\.isFinite) {
                throw TrainingError(description: "the logits became non-finite at step \(step) (loss \(Self.taskLosses(l, batch.labels, types: model.config.resolvedTaskTypes))); try a lower --learning_rate")
            }
            if step % settings.lossPrintInterval == 0 {
                let latency = sinceReport / Double(step - lastReportStep)
                let losses = stepTaskLosses(logits, batches)
                try observe(.step(StepReport(step: step, taskLosses: losses, latencyMs: latency * 1000,
                                             samplesPerSecond: Double(rowsSinceReport) / sinceReport, learningRate: optimizer.learningRate,
                                             lossScale: lossScaler?.scale)))
                lastReportStep = step
                sinceReport = 0
                rowsSinceReport = 0
                lastShown = DispatchTime.now().uptimeNanoseconds
            } else if settings.progressSeconds > 0,
                      Double(DispatchTime.now().uptimeNanoseconds - lastShown) / 1e9 >= settings.progressSeconds {
                try observe(.progress(step: step))
                lastShown = DispatchTime.now().uptimeNanoseconds
            }
            if let timeline { try observe(.timeline(step: step, timeline)) }
            if settings.saveSteps > 0 && step % settings.saveSteps == 0 {
                try observe(.checkpointDue(step))
                lastSave = DispatchTime.now().uptimeNanoseconds
            } else if settings.incrementalSaveSeconds > 0,
                      Double(DispatchTime.now().uptimeNanoseconds - lastSave) / 1e9 >= settings.incrementalSaveSeconds {
                try observe(.incrementalSaveDue(step))
                lastSave = DispatchTime.now().uptimeNanoseconds
            }
            lastEval = nil
            if epochEnded {
                epoch += 1
                if settings.evaluate && (settings.evaluateEachEpoch || selection != nil) {
                    let report = try evaluate(selection?.valid ?? test, epoch: epoch, step: step, split: selection == nil ? .test : .valid)
                    lastEval = report
                    try observe(.evaluation(report))
                    lastShown = DispatchTime.now().uptimeNanoseconds
                    if selection?.record(report, model: model) == .stop { break }
                }
                if epoch <= decays { optimizer.learningRate *= settings.lrFactor }
            }
            step += 1
        }
        let lastStep = min(step, settings.trainBatches)
        var final = lastEval
        if settings.evaluate && selection != nil {
            final = try selectedModelEvaluation(lastValid: lastEval, epoch: epoch, step: lastStep, observe)
        } else if settings.evaluate && final == nil {
            final = try evaluate(test, epoch: epoch, step: settings.trainBatches)
            try observe(.evaluation(final!))
        }
        let steps = max(0, lastStep - firstStep + 1)
        return TrainingSummary(steps: steps, epochs: Double(samples) / Double(source.rowsPerEpoch),
                               trainSeconds: trainSeconds, trainSamples: samples, finalEvaluation: final,
                               skippedSteps: lossScaler?.skippedSteps ?? 0, lossScale: lossScaler?.scale, lastStep: lastStep)
    }

    /// Reads and drops `count` batches: a resumed run's data picks up where the saved run stopped.
    public func skipBatches(_ count: Int) throws {
        for _ in 0..<count { _ = try source.next() }
    }

    /// Logits `[T][N]` of `data` in no-grad mode, `settings.evalBatchSize` rows at a time, on all
    /// cores (see `Predictor`, which `mmoe-predict` runs too).
    ///
    /// With an embedding store, storage errors stop the process here; `evaluate(_:epoch:step:)` on
    /// `EvalData` throws them instead.
    public func predictLogits(_ data: TabularData) -> [[Float]] {
        try! predict(data)
    }

    /// `predictLogits`, throwing the embedding store's errors. With a store, each chunk's rows are
    /// pulled once (read only: nothing is created or counted) and its shards read the working table.
    func predict(_ data: TabularData) throws -> [[Float]] {
        let predictor = Predictor(model: model, tapeOptions: settings.tapeOptions, chunkRows: settings.evalBatchSize)
        guard let store = embeddingStore else { return predictor.logits(data) }
        return try predictor.logits(data, store: store)
    }

    /// Per-task metrics on rows held in memory (see the `EvalData` overload).
    public func evaluate(_ data: TabularData, epoch: Int, step: Int) -> EvalReport {
        try! evaluate(.memory(data), epoch: epoch, step: step)
    }

    /// Per-task metrics on `data`, read chunk by chunk; plus the metrics of all tasks' scores and
    /// labels pooled into one list (DeepRec's single AUC over both labels).
    public func evaluate(_ data: EvalData, epoch: Int, step: Int, split: EvalSplit = .test) throws -> EvalReport {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let tasks = model.config.numTasks
        var logits = [[Float]](repeating: [], count: tasks), taskLabels = [[Float]](repeating: [], count: tasks)
        var count = 0
        try data.chunks { chunk in
            let part = try predictShared(chunk)
            for t in 0..<tasks {
                logits[t] += part[t]
                taskLabels[t] += (0..<chunk.count).map { chunk.labels[$0 * chunk.taskCount + t] }
            }
            count += chunk.count
        }
        let t1 = DispatchTime.now().uptimeNanoseconds
        let types = model.config.resolvedTaskTypes
        // Each task's scores and labels on the rows that count for it (all rows when none is left out).
        let counted = (0..<tasks).map { settings.taskLoss.countedRows($0, scores: logits[$0], labels: taskLabels) }
        let m = TaskMetrics(counted, types: types)
        let binary = (0..<tasks).filter { types[$0] == .binary }
        let pooledScores = binary.flatMap { counted[$0].scores }, pooledLabels = binary.flatMap { counted[$0].labels }
        let pooledAUC = Metrics.auc(scores: pooledScores, labels: pooledLabels)
        let pooledAccuracy = pooledScores.isEmpty ? .nan : Metrics.accuracy(logits: pooledScores, labels: pooledLabels)
        let t2 = DispatchTime.now().uptimeNanoseconds
        var report = EvalReport(epoch: epoch, step: step, auc: m.auc, logLoss: m.logLoss, accuracy: m.accuracy, loss: m.loss, taskTypes: types,
                                samples: count, pooledAUC: pooledAUC, pooledAccuracy: pooledAccuracy,
                                evalSeconds: Double(t1 - t0) / 1e9, metricsSeconds: Double(t2 - t1) / 1e9)
        report.taskSamples = counted.map(\.labels.count)
        report.meanAbsoluteError = m.meanAbsoluteError
        report.split = split
        return report
    }
}
