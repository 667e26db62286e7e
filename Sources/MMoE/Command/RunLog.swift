import Foundation

/// The human-readable lines `mmoe-train` prints, in the shape of OneFlow's MMoE script, and the
/// machine-readable records it writes next to them.
public enum RunLog {
    static func timestamp() -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        f.locale = Locale(identifier: "en_US_POSIX")
        return f.string(from: Date())
    }

    /// `Rank[0], Step 100, Loss_income 0.1234, Loss_marital 0.2345, Latency 1.234 ms, Throughput 207000.0, <time>`
    public static func stepLine(_ r: StepReport, tasks: [String]) -> String {
        let losses = zip(tasks, r.taskLosses).map { "Loss_\($0) \(metricText($1, digits: 4, undefined: "n/a"))" }.joined(separator: ", ")
        return "Rank[0], Step \(r.step), \(losses), Latency \(String(format: "%.3f", r.latencyMs)) ms, "
            + "Throughput \(String(format: "%.1f", r.samplesPerSecond)), \(r.lossScale.map { "Loss_scale \(lossScaleText($0)), " } ?? "")\(timestamp())"
    }

    /// `Rank[0], Epoch 1, Step 53, AUC_income ..., Loss_income ..., Accuracy_income ..., Eval_time ..., Host_Memory ... MiB, <time>`
    /// A regression task has `MSE_<task>` in its AUC's place and no log loss or accuracy; the pooled
    /// metrics cover the binary tasks and are shown when there are two or more, with `AUC_mean`
    /// (over the tasks whose AUC is defined). A regression task also has `RMSE_<task>` and
    /// `MAE_<task>`. An AUC that is undefined (one class, or no rows) reads `undefined`. An
    /// evaluation on the validation set starts `Rank[0], Valid, `; `Eval_samples_<task>` follow
    /// `Eval_samples` when a task counted fewer rows (missing labels, a condition).
    public static func evalLine(_ r: EvalReport, tasks: [String], hostMemoryMB: Double?) -> String {
        let regression = tasks.indices.map { r.taskTypes[$0] == .regression }
        func each(_ label: String, _ values: [Double], regressionLabel: String? = nil, binary: Bool = true) -> String {
            tasks.indices.compactMap { t in
                let name = regression[t] ? regressionLabel : binary ? label : nil
                return name.map { "\($0)_\(tasks[t]) \(metricText(values[t]))" }
            }.map { $0 + ", " }.joined()
        }
        let memory = hostMemoryMB.map { "Host_Memory \(Int($0)) MiB, " } ?? ""
        let pooled = regression.filter { !$0 }.count > 1
            ? "AUC_pooled \(metricText(r.pooledAUC)), Accuracy_pooled \(metricText(r.pooledAccuracy)), AUC_mean \(metricText(r.meanAUC)), " : ""
        let aucOrMSE = tasks.indices.map { regression[$0] ? r.loss[$0] : r.auc[$0] }
        let errors = r.meanAbsoluteError.isEmpty ? ""
            : each("", r.rootMeanSquaredError, regressionLabel: "RMSE", binary: false) + each("", r.meanAbsoluteError, regressionLabel: "MAE", binary: false)
        let perTask = tasks.indices.contains { r.samples(task: $0) != r.samples }
            ? tasks.indices.map { ", Eval_samples_\(tasks[$0]) \(r.samples(task: $0))" }.joined() : ""
        return "Rank[0], \(r.split == .valid ? "Valid, " : "")Epoch \(r.epoch), Step \(r.step), \(each("AUC", aucOrMSE, regressionLabel: "MSE"))\(errors)\(each("Loss", r.logLoss))\(each("Accuracy", r.accuracy))\(pooled)"
            + "Eval_time \(String(format: "%.2f", r.evalSeconds)) s, Metrics_time \(String(format: "%.2f", r.metricsSeconds)) s, "
            + "Eval_samples \(r.samples)\(perTask), \(memory)\(timestamp())"
    }

    /// `x` with `digits` decimals, or `undefined` for NaN (an AUC of one class, a task with no rows).
    public static func metricText(_ x: Double, digits: Int = 6, undefined: String = "undefined") -> String {
        x.isNaN ? undefined : String(format: "%.\(digits)f", x)
    }

    /// A loss scale (a power of two) written out in full: `1073741824`, not `1.0737418e+09`.
    public static func lossScaleText(_ scale: Float) -> String { String(format: "%.0f", Double(scale)) }

    /// A JSON number, or null for NaN and infinities (JSON has no spelling for them).
    static func number(_ x: Double) -> Any { x.isFinite ? x : NSNull() }

    static func byTask(_ tasks: [String], _ values: [Double]) -> [String: Any] {
        Dictionary(uniqueKeysWithValues: zip(tasks, values.map(number)))
    }

    public static func stepRecord(_ r: StepReport, tasks: [String]) -> [String: Any] {
        ["type": "train", "step": r.step, "loss": byTask(tasks, r.taskLosses), "latency_ms": number(r.latencyMs),
         "samples_per_sec": number(r.samplesPerSecond), "learning_rate": Double("\(r.learningRate)") ?? Double(r.learningRate),
         "loss_scale": r.lossScale.map { Double($0) as Any } ?? NSNull()]
    }

    /// `split` is `test` or `valid` (the validation set's evaluations, when there is one).
    public static func evalRecord(_ r: EvalReport, tasks: [String]) -> [String: Any] {
        ["type": "eval", "epoch": r.epoch, "step": r.step, "auc": byTask(tasks, r.auc), "logloss": byTask(tasks, r.logLoss),
         "accuracy": byTask(tasks, r.accuracy), "loss": byTask(tasks, r.loss), "samples": r.samples, "eval_seconds": r.evalSeconds,
         "pooled_auc": number(r.pooledAUC), "pooled_accuracy": number(r.pooledAccuracy),
         "samples_per_sec": number(Double(r.samples) / r.evalSeconds)].merging(taskDetails(r, tasks: tasks)) { a, _ in a }
    }

    /// What every evaluation record adds: which split, the mean AUC over the tasks whose AUC is
    /// defined, each task's counted rows, and the regression tasks' RMSE and MAE.
    static func taskDetails(_ r: EvalReport, tasks: [String]) -> [String: Any] {
        let regression = tasks.indices.filter { r.taskTypes[$0] == .regression }
        var record: [String: Any] = ["split": r.split.rawValue, "auc_mean": number(r.meanAUC),
                                     "task_samples": Dictionary(uniqueKeysWithValues: tasks.indices.map { (tasks[$0], r.samples(task: $0)) })]
        if !regression.isEmpty && !r.meanAbsoluteError.isEmpty {
            record["rmse"] = Dictionary(uniqueKeysWithValues: regression.map { (tasks[$0], number(r.rootMeanSquaredError[$0])) })
            record["mae"] = Dictionary(uniqueKeysWithValues: regression.map { (tasks[$0], number(r.meanAbsoluteError[$0])) })
        }
        return record
    }

    /// summary.json's `task_rows`: per task, the rows it trained on (over all steps) and the rows
    /// its final evaluation counted.
    static func taskRowsRecord(tasks: [String], trained: [Int], evaluation: EvalReport?) -> [String: Any] {
        ["train": Dictionary(uniqueKeysWithValues: zip(tasks, trained)),
         "eval": evaluation.map { e in Dictionary(uniqueKeysWithValues: tasks.indices.map { (tasks[$0], e.samples(task: $0)) }) as Any } ?? NSNull()]
    }

    /// `eval` is null when evaluation was off (`--no_eval`).
    public static func summaryRecord(_ s: TrainingSummary, dataset: String, model: String = "mmoe", tasks: [String],
                                     peakRSSMB: Double?) -> [String: Any] {
        let eval: Any = s.finalEvaluation.map { e in
            ["auc": byTask(tasks, e.auc), "logloss": byTask(tasks, e.logLoss), "accuracy": byTask(tasks, e.accuracy),
             "loss": byTask(tasks, e.loss),
             "pooled_auc": number(e.pooledAUC), "pooled_accuracy": number(e.pooledAccuracy),
             "samples": e.samples, "seconds": e.evalSeconds, "samples_per_sec": number(Double(e.samples) / e.evalSeconds)]
                .merging(taskDetails(e, tasks: tasks)) { a, _ in a } as [String: Any]
        } ?? NSNull()
        return ["dataset": dataset, "model": model, "tasks": tasks, "steps": s.steps, "epochs": s.epochs, "eval": eval,
                "train": ["seconds": s.trainSeconds, "samples": s.trainSamples, "samples_per_sec": number(s.samplesPerSecond),
                          "global_steps_per_sec": number(s.stepsPerSecond)],
                "peak_rss_mb": peakRSSMB.map(number) ?? NSNull(),
                "skipped_steps": s.skippedSteps, "loss_scale": s.lossScale.map { Double($0) as Any } ?? NSNull()]
    }

    public static func json(_ object: [String: Any]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }
}
