import Foundation

/// What a `--checkpoint` run resumed from a checkpoint does with the steps, the log and the
/// summary of the run it continues: a finished run is not trained again, a step count below the
/// checkpoint's is refused, `metrics.jsonl` goes on from the checkpoint's step, and the summary
/// counts the whole run.
extension TrainCommand {
    /// The steps the run trains in all: `--steps` (0: DeepRec's 1000 epochs) or `--train_batches`.
    func totalSteps(_ o: TrainOptions, trainRows: Int) -> Int {
        o.steps.map { $0 == 0 ? Self.deepRecSteps(rows: trainRows, batchSize: o.batchSize) : $0 } ?? o.trainBatches
    }

    /// Refuses a resume whose step count is below the checkpoint's step (it would train backwards).
    func checkResume(step: Int, totalSteps: Int, _ o: TrainOptions, checkpoint: String) throws(UsageError) {
        guard step > totalSteps else { return }
        let flag = o.steps != nil ? "--steps" : "--train_batches"
        throw UsageError("\(flag) \(o.steps ?? o.trainBatches): the newest checkpoint in --checkpoint \(checkpoint) is at step \(step), "
                         + "past the \(totalSteps) steps asked for; give at least \(step) steps to resume it (\(step): the run is complete), "
                         + "or a new --checkpoint directory to start over")
    }

    /// The file beside a checkpoint's model that holds the run's totals up to it (seconds and samples
    /// trained), so that a resumed run reports the whole run. Not in the model file: its seconds
    /// differ run to run, and the model files of a resumed and a straight run are byte-identical.
    static let totalsFile = "run_totals.json"

    static func saveTotals(_ totals: (seconds: Double, samples: Int), in directory: String) throws {
        let data = Data(RunLog.json(["train_seconds": totals.seconds, "train_samples": totals.samples]).utf8)
        try AtomicFile.write(data, as: totalsFile, in: directory)
    }

    /// The training seconds and samples of the steps up to the resumed checkpoint in `directory`
    /// (one saved before they were recorded: the samples estimated, the seconds unknown, 0).
    func priorTotals(in directory: String, step: Int, _ o: TrainOptions) -> (seconds: Double, samples: Int) {
        let path = (directory as NSString).appendingPathComponent(Self.totalsFile)
        let object = FileManager.default.contents(atPath: path).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
        let seconds = object?["train_seconds"] as? Double ?? 0
        let samples = object?["train_samples"] as? Int ?? step * o.batchSize * max(1, o.microBatch)
        return (seconds, samples)
    }

    /// `summary` of the steps this invocation trained, extended by the resumed run's earlier part.
    func wholeRun(_ summary: TrainingSummary, prior: (seconds: Double, samples: Int), resumedStep: Int, rowsPerEpoch: Int) -> TrainingSummary {
        guard resumedStep > 0 else { return summary }
        let samples = summary.trainSamples + prior.samples
        return TrainingSummary(steps: summary.steps + resumedStep, epochs: Double(samples) / Double(max(1, rowsPerEpoch)),
                               trainSeconds: summary.trainSeconds + prior.seconds, trainSamples: samples,
                               finalEvaluation: summary.finalEvaluation, skippedSteps: summary.skippedSteps, lossScale: summary.lossScale)
    }

    /// Opens `metrics.jsonl` for the run's records. A fresh run starts it empty; a resumed run keeps
    /// the records of the steps up to its checkpoint (later ones belong to the part being redone)
    /// and appends.
    static func openMetrics(_ url: URL, resumedStep: Int?) throws -> FileHandle {
        var kept = Data()
        if let resumedStep, let old = FileManager.default.contents(atPath: url.path) {
            for line in old.split(separator: UInt8(ascii: "\n")) {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else { continue }
                if let step = object["step"] as? Int, step > resumedStep { continue }
                kept.append(Data(line))
                kept.append(UInt8(ascii: "\n"))
            }
        }
        do {
            if resumedStep != nil {
                try kept.write(to: url, options: .atomic)
            } else if !FileManager.default.fileExists(atPath: url.path) {
                guard FileManager.default.createFile(atPath: url.path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
            }
            let handle = try FileHandle(forWritingTo: url)
            // A fresh run's file is emptied in place (not replaced), so the file is the one the name leads to.
            if try handle.seekToEnd() > 0 && resumedStep == nil { try handle.truncate(atOffset: 0) }
            return handle
        } catch {
            throw UsageError("--output_dir: cannot write \(url.path): \(error.localizedDescription)")
        }
    }

    /// Writes one record to `metrics.jsonl`; a failed write (a full disk) is an error naming it.
    static func append(_ object: [String: Any], to metrics: FileHandle, _ url: URL) throws {
        do { try metrics.write(contentsOf: Data((RunLog.json(object) + "\n").utf8)) } catch {
            throw TrainingError(description: "\(url.path): write failed: \(error.localizedDescription)")
        }
    }
}
