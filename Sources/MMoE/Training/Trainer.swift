import Foundation
import Tensor
import Datasets

/// How a training run goes; the defaults are the OneFlow example's.
public struct TrainerSettings: Sendable {
    public var batchSize = 256
    /// Steps to run (cycling over epochs).
    public var trainBatches = 16000
    /// A `.step` report every this many steps.
    public var lossPrintInterval = 100
    public var learningRate: Float = 0.001
    /// The optimizer, one of DeepRec's `--optimizer` choices (`adam` is PyTorch-form Adam).
    public var optimizer: OptimizerKind = .adam
    /// The reference's MultiStepLR: at each epoch boundary the rate is multiplied by this factor,
    /// as long as it stays at or above `minLR`. 1 keeps the rate constant.
    public var lrFactor: Float = 1
    public var minLR: Float = 1e-6
    /// Seeds the shuffling and the dropout masks.
    public var seed: UInt64 = 2019
    /// Rows per forward pass in evaluation (results do not depend on it).
    public var evalBatchSize = 4096
    /// Row shards each training batch is cut into: their forward and backward passes run
    /// concurrently (one per thread) and their gradients are summed in shard order, so results do
    /// not depend on the thread count. 1 runs the batch whole (the GEMMs then split over threads).
    public var batchShards = 2

    public init() {}
}

/// One printed training step, in the reference's terms.
public struct StepReport: Sendable {
    public let step: Int
    /// Each task's mean BCE on this step's batch.
    public let taskLosses: [Double]
    /// Mean wall time per step since the previous report, in milliseconds.
    public let latencyMs: Double
    /// batch size / latency.
    public let samplesPerSecond: Double
    public let learningRate: Float
}

/// Metrics on the test set after some step.
public struct EvalReport: Sendable {
    public let epoch: Int
    public let step: Int
    /// Per task, in task order.
    public let auc: [Double], logLoss: [Double], accuracy: [Double]
    public let samples: Int
    /// Forward passes, and the metric computation after them.
    public let evalSeconds: Double, metricsSeconds: Double
}

public enum TrainingEvent: Sendable {
    case step(StepReport)
    case evaluation(EvalReport)
}

public struct TrainingSummary: Sendable {
    public let steps: Int
    /// Training samples seen / training set size.
    public let epochs: Double
    public let trainSeconds: Double
    public let trainSamples: Int
    public let finalEvaluation: EvalReport
    public var samplesPerSecond: Double { Double(trainSamples) / trainSeconds }
}

public struct TrainingError: Error, CustomStringConvertible {
    public let description: String
}

/// The training loop: Adam on shuffled batches, a report every `lossPrintInterval` steps, an
/// evaluation at each epoch boundary and after the last step (unless that was a boundary).
public final class Trainer {
    public let model: MMoEModel
    public let settings: TrainerSettings
    public let optimizer: any Optimizer
    public let taskNames: [String]
    private var stream: BatchStream
    private var dropoutRNG: SeededRNG
    private let test: TabularData
    /// The model itself, then a gradient view of it (`MMoEModel(sharingValuesOf:)`) per further shard.
    private let shardModels: [MMoEModel]

    /// A batch is cut into shards only when each gets at least this many rows.
    static let minShardRows = 32

    public init(model: MMoEModel, train: TabularData, test: TabularData, settings: TrainerSettings) {
        precondition(train.taskCount == model.config.numTasks && test.taskCount == model.config.numTasks,
                     "Trainer: the data has \(train.taskCount) tasks, the model \(model.config.numTasks)")
        self.model = model
        self.settings = settings
        self.test = test
        taskNames = train.taskNames
        optimizer = makeOptimizer(settings.optimizer, for: model, learningRate: settings.learningRate)
        stream = BatchStream(train, batchSize: settings.batchSize, seed: settings.seed)
        dropoutRNG = SeededRNG(seed: settings.seed ^ 0x9E37_79B9_7F4A_7C15)
        precondition(settings.batchShards >= 1, "Trainer: batchShards must be at least 1, got \(settings.batchShards)")
        shardModels = [model] + (1..<settings.batchShards).map { _ in MMoEModel(sharingValuesOf: model) }
    }

    public var batchesPerEpoch: Int { stream.batchesPerEpoch }

    /// Epoch boundaries at which the reference multiplies the rate by `lrFactor`:
    /// floor(log(minLR / lr) / log(lrFactor)) of them.
    var decayCount: Int {
        guard settings.lrFactor < 1, settings.minLR > 0, settings.minLR < settings.learningRate else { return 0 }
        return Int((log(Double(settings.minLR / settings.learningRate)) / log(Double(settings.lrFactor))).rounded(.down))
    }

    /// One optimisation step on `batch`; returns its logits `[T, B]` (from before the update).
    @discardableResult
    public func trainStep(_ batch: Batch) -> Tensor {
        let logits = accumulateGradients(batch)
        optimizer.update(model)
        model.parameters.zeroGrad()
        model.embedding?.zeroGrad()
        return logits
    }

    /// Forward and backward of `batch`, adding the gradient of its loss to `model`'s gradients;
    /// returns the logits `[T, B]`.
    ///
    /// With `batchShards` S > 1 (and at least `minShardRows` rows per shard), shard s takes rows
    /// [s·B/S, (s+1)·B/S) and its own dropout stream, runs on `shardModels[s]` with its own tape,
    /// and seeds its backward with rows_s / B, because the loss is a mean over the whole batch.
    /// Shards run concurrently under `Parallel.forEach` (their GEMMs then run single-threaded);
    /// the shard gradients are then added into the model's in shard order.
    func accumulateGradients(_ batch: Batch) -> Tensor {
        let b = batch.size
        let shards = b >= shardModels.count * Self.minShardRows ? shardModels.count : 1
        guard shards > 1 else {
            let tape = Tape()
            let logits = model.logits(batch, tape: tape, training: true, rng: &dropoutRNG)
            tape.backward(model.loss(logits: logits, labels: batch.labels))
            return logits.value
        }
        let seeds = (0..<shards).map { _ in dropoutRNG.next() }
        let ranges = (0..<shards).map { s in (s * b / shards)..<((s + 1) * b / shards) }
        let logits = Tensor(uninitializedShape: [model.config.numTasks, b])
        Parallel.forEach(shards) { s in
            let part = batch.rows(ranges[s]), replica = shardModels[s]
            var rng = SeededRNG(seed: seeds[s])
            let tape = Tape()
            let out = replica.logits(part, tape: tape, training: true, rng: &rng)
            tape.backward(replica.loss(logits: out, labels: part.labels), seed: Float(part.size) / Float(b))
            logits.slice(1, ranges[s]).assign(out.value)
        }
        for replica in shardModels[1..<shards] {
            Kernels.addInPlace(model.parameters.grads, replica.parameters.grads)
            replica.parameters.zeroGrad()
            if let table = model.embedding, let part = replica.embedding {
                table.addGradient(of: part)
                part.zeroGrad()
            }
        }
        return logits
    }

    static func taskLosses(_ logits: Tensor, _ labels: Tensor) -> [Double] {
        let t = logits.shape[0]
        return (0..<t).map { Metrics.logLoss(logits: logits.select(0, $0).scalars, labels: labels.select(0, $0).scalars) }
    }

    /// Runs `settings.trainBatches` steps, calling `observe` for each report. An error thrown by
    /// `observe` stops the run and is rethrown.
    public func run(_ observe: (TrainingEvent) throws -> Void) throws -> TrainingSummary {
        let perEpoch = batchesPerEpoch
        let decays = decayCount
        var trainSeconds = 0.0, samples = 0, epoch = 0
        var lastReportStep = 0, sinceReport = 0.0
        var lastEval: EvalReport?
        for step in 1...settings.trainBatches {
            let start = DispatchTime.now().uptimeNanoseconds
            let batch = stream.next()
            let logits = trainStep(batch)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            trainSeconds += seconds
            sinceReport += seconds
            samples += batch.size
            // Finite logits give a finite BCE, so the losses themselves are computed only when printed.
            guard logits.scalars.allSatisfy(\.isFinite) else {
                throw TrainingError(description: "the logits became non-finite at step \(step) (loss \(Self.taskLosses(logits, batch.labels))); try a lower --learning_rate")
            }
            if step % settings.lossPrintInterval == 0 {
                let latency = sinceReport / Double(step - lastReportStep)
                try observe(.step(StepReport(step: step, taskLosses: Self.taskLosses(logits, batch.labels), latencyMs: latency * 1000,
                                             samplesPerSecond: Double(settings.batchSize) / latency,
                                             learningRate: optimizer.learningRate)))
                lastReportStep = step
                sinceReport = 0
            }
            lastEval = nil
            if step % perEpoch == 0 {
                epoch += 1
                let report = evaluate(test, epoch: epoch, step: step)
                lastEval = report
                try observe(.evaluation(report))
                if epoch <= decays { optimizer.learningRate *= settings.lrFactor }
            }
        }
        let final = lastEval ?? evaluate(test, epoch: epoch, step: settings.trainBatches)
        if lastEval == nil { try observe(.evaluation(final)) }
        return TrainingSummary(steps: settings.trainBatches, epochs: Double(samples) / Double(stream.data.count),
                               trainSeconds: trainSeconds, trainSamples: samples, finalEvaluation: final)
    }

    /// Logits `[T][N]` of `data` in no-grad mode, `settings.evalBatchSize` rows at a time.
    ///
    /// Each chunk is cut into one row shard per thread (at least `minEvalShardRows` rows each); the
    /// shards gather their rows and run their forward passes concurrently, each on one core with
    /// single-threaded GEMMs. Rows do not interact in a forward pass, so neither the chunk size
    /// nor the thread count changes a bit of the result.
    public func predictLogits(_ data: TabularData) -> [[Float]] {
        var out = [[Float]](repeating: [], count: model.config.numTasks)
        var start = 0
        while start < data.count {
            let end = min(start + settings.evalBatchSize, data.count), n = end - start
            let shards = max(1, min(Parallel.threads, n / Self.minEvalShardRows))
            let logits = Tensor(uninitializedShape: [model.config.numTasks, n])   // [T, n]
            Parallel.forEach(shards) { s in
                let rows = (start + s * n / shards)..<(start + (s + 1) * n / shards)
                var rng = SeededRNG(seed: 0) // unused: no dropout outside training
                let part = model.logits(Batch(data, rows: rows), tape: Tape(recording: false), training: false, rng: &rng)
                logits.slice(1, (rows.lowerBound - start)..<(rows.upperBound - start)).assign(part.value)
            }
            for t in 0..<out.count { out[t].append(contentsOf: logits.select(0, t).scalars) }
            start = end
        }
        return out
    }

    /// Evaluation rows per shard below which a chunk is not cut further.
    static let minEvalShardRows = 256

    public func evaluate(_ data: TabularData, epoch: Int, step: Int) -> EvalReport {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let logits = predictLogits(data)
        let t1 = DispatchTime.now().uptimeNanoseconds
        var auc: [Double] = [], logLoss: [Double] = [], accuracy: [Double] = []
        for t in 0..<logits.count {
            let labels = (0..<data.count).map { data.labels[$0 * data.taskCount + t] }
            auc.append(Metrics.auc(scores: logits[t], labels: labels))
            logLoss.append(Metrics.logLoss(logits: logits[t], labels: labels))
            accuracy.append(Metrics.accuracy(logits: logits[t], labels: labels))
        }
        let t2 = DispatchTime.now().uptimeNanoseconds
        return EvalReport(epoch: epoch, step: step, auc: auc, logLoss: logLoss, accuracy: accuracy, samples: data.count,
                          evalSeconds: Double(t1 - t0) / 1e9, metricsSeconds: Double(t2 - t1) / 1e9)
    }
}
