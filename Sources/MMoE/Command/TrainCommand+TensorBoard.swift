import Foundation
import Tensor

/// What `mmoe-train` writes for TensorBoard (on unless `--tensorboard False`), beside
/// metrics.jsonl: one event file in `--output_dir` with
///
/// - `train/loss/<task>`, `train/learning_rate`, `train/samples_per_sec` (and `train/loss_scale`
///   under `--amp`) at every printed step;
/// - `test/auc/<task>`, `test/logloss/<task>`, `test/accuracy/<task>` for a binary task,
///   `test/mse/<task>`, `test/rmse/<task>`, `test/mae/<task>` for a regression task,
///   `test/auc_pooled` and `test/auc_mean` with two or more binary tasks, at every evaluation
///   (`valid/...` for an evaluation on the validation set; an undefined AUC is left out), and
///   `embedding_store/<count>` when the run has an embedding store;
/// - `gates/<gate>/expert_<e>`: each gate's mean weight per expert over the test set (at most
///   `gateRows` rows) at every evaluation, for models with MMoE-style gates and no embedding store;
/// - the effective flags as a table in the Text tab (`flags`), and the final summary line (`summary`).
///
/// Events reach the file after each step report and each evaluation, so a live TensorBoard
/// follows the run.
final class TrainingTensorBoard {
    let writer: EventFileWriter
    let tasks: [String]
    /// Test rows the per-evaluation gate weights are averaged over (the Census test set is ~100k).
    static let gateRows = 100_000

    /// A fresh run (`fresh`) removes the event files earlier runs left in `directory` first, as
    /// metrics.jsonl is rewritten, so TensorBoard shows this run alone; a resumed run adds a file.
    init(directory: String, tasks: [String], flags: [(String, String)], fresh: Bool) throws(TensorBoardError) {
        if fresh, let old = try? FileManager.default.contentsOfDirectory(atPath: directory) {
            for name in old where name.hasPrefix("events.out.tfevents.") {
                try? FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(name))
            }
        }
        writer = try EventFileWriter(directory: directory)
        self.tasks = tasks
        writer.add(text: Self.markdownTable(flags), tag: "flags", step: 0)
        try writer.flush()
    }

    func step(_ r: StepReport) throws(TensorBoardError) {
        var values = zip(tasks, r.taskLosses).filter { !$1.isNaN }.map { (tag: EventFileWriter.tag("train", "loss", $0), value: $1) }
        values.append((tag: "train/learning_rate", value: Double(r.learningRate)))
        values.append((tag: "train/samples_per_sec", value: r.samplesPerSecond))
        if let scale = r.lossScale { values.append((tag: "train/loss_scale", value: Double(scale))) }
        writer.add(scalars: values, step: r.step)
        try writer.flush()
    }

    /// The metrics of evaluation `r`, the store's counts (`store`: its statistics record) and,
    /// when `gatesOf` is given, that model's mean gate weights over the test set `test`.
    func evaluation(_ r: EvalReport, store: [String: Any]?, gatesOf model: MMoEModel?, test: EvalData, options: TapeOptions) throws {
        let gates = try model.flatMap { try GateStatistics.measure($0, test: test, tasks: tasks, options: options, maxRows: Self.gateRows) }
        var values: [(tag: String, value: Double)] = []
        let split = r.split.rawValue
        for (t, task) in tasks.enumerated() {
            if r.taskTypes[t] == .regression {
                values.append((EventFileWriter.tag(split, "mse", task), r.loss[t]))
                if !r.meanAbsoluteError.isEmpty {
                    values.append((EventFileWriter.tag(split, "rmse", task), r.rootMeanSquaredError[t]))
                    values.append((EventFileWriter.tag(split, "mae", task), r.meanAbsoluteError[t]))
                }
            } else {
                values.append((EventFileWriter.tag(split, "auc", task), r.auc[t]))
                values.append((EventFileWriter.tag(split, "logloss", task), r.logLoss[t]))
                values.append((EventFileWriter.tag(split, "accuracy", task), r.accuracy[t]))
            }
        }
        if r.taskTypes.filter({ $0 == .binary }).count > 1 {
            values.append(("\(split)/auc_pooled", r.pooledAUC))
            values.append(("\(split)/auc_mean", r.meanAUC))
        }
        // An undefined metric (NaN: one class, or no counted rows) is left out rather than plotted.
        values = values.filter { !$0.value.isNaN }
        for (key, value) in (store ?? [:]).sorted(by: { $0.key < $1.key }) {
            if let number = value as? Int { values.append((EventFileWriter.tag("embedding_store", key), Double(number))) }
        }
        for gate in gates?.gates ?? [] {
            for (e, weight) in gate.meanWeight.enumerated() {
                values.append((EventFileWriter.tag("gates", gate.name, "expert_\(e)"), weight))
            }
        }
        writer.add(scalars: values, step: r.step)
        try writer.flush()
    }

    func finish(summary: String, step: Int) throws(TensorBoardError) {
        writer.add(text: summary, tag: "summary", step: step)
        try writer.close()
    }

    /// The flags as a two-column Markdown table (the text plugin renders Markdown).
    static func markdownTable(_ rows: [(String, String)]) -> String {
        (["| flag | value |", "|---|---|"] + rows.map { "| \($0.0) | \($0.1.replacingOccurrences(of: "|", with: "\\|")) |" })
            .joined(separator: "\n")
    }
}

extension TrainCommand {
    /// The run's TensorBoard writer, or nil under `--tensorboard False`.
    func tensorBoard(_ o: TrainOptions, tasks: [String], fresh: Bool) throws -> TrainingTensorBoard? {
        guard o.tensorboard else { return nil }
        return try TrainingTensorBoard(directory: o.outputDir, tasks: tasks, flags: argumentRows(o), fresh: fresh)
    }

    /// flags.json in the output directory: the effective arguments, for `mmoe-report run`.
    func writeFlags(_ o: TrainOptions, to outputDir: URL) throws {
        let object = Dictionary(uniqueKeysWithValues: argumentRows(o))
        try Data((RunLog.json(object) + "\n").utf8).write(to: outputDir.appendingPathComponent("flags.json"), options: .atomic)
    }
}
