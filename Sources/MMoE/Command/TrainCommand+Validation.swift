import Foundation
import Datasets

/// The validation set (`--valid_fraction`, `--valid_files`) for each built-in data set, and the
/// per-task loss settings (`--task_weights`, `--task_conditions`) resolved against the data's tasks.
/// `LoadedData.valid` is the one place a validation set enters a run: another reader fills it the
/// same way.
extension TrainCommand {
    /// `--valid_fraction` on rows in memory: the training rows minus the held-out ones, and those.
    func holdOut(_ train: TabularData, _ o: TrainOptions) throws(UsageError) -> (train: TabularData, valid: TabularData?) {
        guard let fraction = o.validFraction else { return (train, nil) }
        let split = ValidationSplit(fraction: Double(fraction), seed: o.seed).split(train)
        try Self.checkSplit(kept: split.train.count, heldOut: split.valid.count, fraction: fraction)
        return split
    }

    static func checkSplit(kept: Int, heldOut: Int, fraction: Float) throws(UsageError) {
        let total = kept + heldOut
        guard heldOut > 0 else {
            throw UsageError("--valid_fraction \(fraction) held out none of the \(total) training rows; raise it (or give --valid_files)")
        }
        guard kept > 0 else {
            throw UsageError("--valid_fraction \(fraction) held out all \(total) training rows, leaving none to train on; lower it")
        }
    }

    /// `--valid_fraction` on Taobao's streamed training file: one pass over the file counts the
    /// rows kept for training (batches per epoch need the count); training then skips the held-out
    /// rows as it streams, and the validation set streams the file again keeping only them.
    func holdOut(_ file: SlicedFile, trainPath: String, maxRows: Int?, reader: TaobaoOptions, _ o: TrainOptions) throws -> (file: SlicedFile, valid: EvalData?, validRows: Int) {
        guard let fraction = o.validFraction else { return (file, nil, 0) }
        let split = ValidationSplit(fraction: Double(fraction), seed: o.seed)
        var kept = 0, heldOut = 0
        try Taobao.read(path: trainPath, chunkRows: 8192, maxRows: maxRows, options: reader) { chunk in
            for r in 0..<chunk.count { if split.holdsOut(chunk, row: r) { heldOut += 1 } else { kept += 1 } }
            return true
        }
        try Self.checkSplit(kept: kept, heldOut: heldOut, fraction: fraction)
        let trainFile = SlicedFile(rows: kept, pieces: file.pieceCount, order: file.order) { index, body in
            try file.readPiece(index) { chunk in
                let rows = (0..<chunk.count).filter { !split.holdsOut(chunk, row: $0) }
                return rows.isEmpty ? true : try body(rows.count == chunk.count ? chunk : chunk.gathering(rows))
            }
        }
        let valid = EvalData { body in
            try Taobao.read(path: trainPath, chunkRows: 4096, maxRows: maxRows, options: reader) { chunk in
                let rows = (0..<chunk.count).filter { split.holdsOut(chunk, row: $0) }
                if !rows.isEmpty { try body(chunk.gathering(rows)) }
                return true
            }
        }
        return (trainFile, valid, heldOut)
    }

    /// `--valid_files` in Taobao's format, streamed in order (each is read through once now, so a
    /// bad line stops the run before training).
    func taobaoValidFiles(_ o: TrainOptions, reader: TaobaoOptions) throws -> (valid: EvalData?, rows: Int) {
        guard !o.validFiles.isEmpty else { return (nil, 0) }
        var rows = 0
        for path in o.validFiles {
            try Taobao.read(path: path, chunkRows: 4096, options: reader) { chunk in rows += chunk.count; return true }
        }
        guard rows > 0 else { throw UsageError("--valid_files \(o.validFiles.joined(separator: ",")): no rows to validate on") }
        let paths = o.validFiles
        return (EvalData { body in
            for path in paths { try Taobao.read(path: path, chunkRows: 4096, options: reader) { try body($0); return true } }
        }, rows)
    }

    /// `--valid_files` in the Census training split's format (raw files, or OneFlow's Parquet
    /// files or folders), read by the Census loader as the test split is.
    func censusValidFiles(_ census: CensusData, _ o: TrainOptions) throws(UsageError) -> TabularData? {
        guard !o.validFiles.isEmpty else { return nil }
        guard let valid = census.valid, valid.count > 0 else {
            throw UsageError("--valid_files \(o.validFiles.joined(separator: ",")): no rows to validate on")
        }
        return valid
    }

    /// Refuses what the data kind cannot do; called before the data is read.
    func checkValidation(_ kind: DatasetKind, _ o: TrainOptions) throws(UsageError) {
        if kind == .synthetic && !o.validFiles.isEmpty {
            throw UsageError("--valid_files: the built-in synthetic data has no files; use --valid_fraction F to hold out training rows")
        }
    }

    /// The per-task loss settings of this run: those the data brings (`data.taskLoss`, e.g. from
    /// a schema), with `--task_weights` and `--task_conditions` taking their place when given.
    func taskLossSettings(_ data: LoadedData, _ o: TrainOptions, types: [TaskType]) throws(UsageError) -> TaskLossSettings {
        var settings = data.taskLoss ?? TaskLossSettings()
        let names = data.taskNames
        if !o.taskWeights.isEmpty { settings.weights = o.taskWeights }
        if !o.taskConditions.isEmpty {
            guard o.taskConditions.count == names.count else {
                throw UsageError("--task_conditions has \(o.taskConditions.count) entries for \(names.count) tasks (\(names.joined(separator: ", "))); give one per task (- for none)")
            }
            var conditions: [Int?] = []
            for (t, entry) in o.taskConditions.enumerated() {
                if entry == "-" { conditions.append(nil); continue }
                guard let c = names.firstIndex(of: entry) else {
                    throw UsageError("--task_conditions: task \(names[t])'s condition \"\(entry)\" is not a task (the tasks are \(names.joined(separator: ", ")); - for none)")
                }
                conditions.append(c)
            }
            settings.conditions = conditions
        }
        do {
            try settings.check(taskNames: names, taskTypes: types)
            if o.hasValidation { try o.earlyStoppingMetric.check(taskNames: names, taskTypes: types) }
        } catch { throw UsageError(error.message) }
        return settings
    }

    /// One line naming, per task, its weight and condition, and the rows it trained and was
    /// evaluated on; only when something sets a task apart (a weight, a condition, a missing label).
    static func taskRowsLine(_ settings: TaskLossSettings, tasks: [String], trainedRows: [Int], trainSamples: Int,
                             evaluation: EvalReport?) -> String? {
        let evalRows = tasks.indices.map { evaluation?.samples(task: $0) }
        let differs = tasks.indices.contains { trainedRows[$0] != trainSamples || evalRows[$0] != evaluation?.samples }
        guard differs || !settings.isPlain else { return nil }
        let parts = tasks.indices.map { t in
            var head = tasks[t]
            var notes: [String] = []
            if settings.weight(t) != 1 { notes.append("weight \(settings.weight(t))") }
            if let c = settings.condition(t) { notes.append("on \(tasks[c]) = 1") }
            if !notes.isEmpty { head += " (" + notes.joined(separator: ", ") + ")" }
            return head + " trained on \(trainedRows[t]) rows" + (evalRows[t].map { ", evaluated on \($0)" } ?? "")
        }
        return "Task rows: " + parts.joined(separator: "; ") + " (of \(trainSamples) training rows" + (evaluation.map { ", \($0.samples) test rows" } ?? "") + ")"
    }

    /// The line saying which validation evaluation won and why training ended.
    static func selectionLine(_ s: ModelSelectionReport) -> String {
        let value = String(format: "%.6f", s.bestValue)
        let end = s.stoppedAtStep.map { "early stopping at step \($0) after \(s.patience) evaluations without improvement" }
            ?? "training ran to its last step"
        return "Model selection: validation evaluation \(s.bestIndex) of \(s.evaluations) (epoch \(s.best.epoch), step \(s.best.step)) "
            + "has the best \(s.metric) \(value); \(end); its weights are restored and scored on the test set"
    }

    /// The model selection as a summary.json object.
    static func selectionRecord(_ s: ModelSelectionReport) -> [String: Any] {
        ["metric": s.metric.description, "best_value": RunLog.number(s.bestValue), "best_evaluation": s.bestIndex,
         "best_epoch": s.best.epoch, "best_step": s.best.step, "evaluations": s.evaluations,
         "stopped_at_step": s.stoppedAtStep.map { $0 as Any } ?? NSNull(), "patience": s.patience]
    }
}
