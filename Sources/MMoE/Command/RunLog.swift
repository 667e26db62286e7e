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
        let losses = zip(tasks, r.taskLosses).map { "Loss_\($0) \(String(format: "%.4f", $1))" }.joined(separator: ", ")
        return "Rank[0], Step \(r.step), \(losses), Latency \(String(format: "%.3f", r.latencyMs)) ms, "
            + "Throughput \(String(format: "%.1f", r.samplesPerSecond)), \(r.lossScale.map { "Loss_scale \(lossScaleText($0)), " } ?? "")\(timestamp())"
    }

    /// `Rank[0], Epoch 1, Step 53, AUC_income ..., Loss_income ..., Accuracy_income ..., Eval_time ..., Host_Memory ... MiB, <time>`
    /// A regression task has `MSE_<task>` in its AUC's place and no log loss or accuracy; the pooled
    /// metrics cover the binary tasks and are shown when there are two or more.
    public static func evalLine(_ r: EvalReport, tasks: [String], hostMemoryMB: Double?) -> String {
        let regression = tasks.indices.map { r.taskTypes[$0] == .regression }
        func each(_ label: String, _ values: [Double], regressionLabel: String? = nil) -> String {
            tasks.indices.compactMap { t in
                let name = regression[t] ? regressionLabel : label
                return name.map { "\($0)_\(tasks[t]) \(String(format: "%.6f", values[t]))" }
            }.map { $0 + ", " }.joined()
        }
        let memory = hostMemoryMB.map { "Host_Memory \(Int($0)) MiB, " } ?? ""
        let pooled = regression.filter { !$0 }.count > 1
            ? "AUC_pooled \(String(format: "%.6f", r.pooledAUC)), Accuracy_pooled \(String(format: "%.6f", r.pooledAccuracy)), " : ""
        let aucOrMSE = tasks.indices.map { regression[$0] ? r.loss[$0] : r.auc[$0] }
        return "Rank[0], Epoch \(r.epoch), Step \(r.step), \(each("AUC", aucOrMSE, regressionLabel: "MSE"))\(each("Loss", r.logLoss))\(each("Accuracy", r.accuracy))\(pooled)"
            + "Eval_time \(String(format: "%.2f", r.evalSeconds)) s, Metrics_time \(String(format: "%.2f", r.metricsSeconds)) s, "
            + "Eval_samples \(r.samples), \(memory)\(timestamp())"
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

    public static func evalRecord(_ r: EvalReport, tasks: [String]) -> [String: Any] {
        ["type": "eval", "epoch": r.epoch, "step": r.step, "auc": byTask(tasks, r.auc), "logloss": byTask(tasks, r.logLoss),
         "accuracy": byTask(tasks, r.accuracy), "loss": byTask(tasks, r.loss), "samples": r.samples, "eval_seconds": r.evalSeconds,
         "pooled_auc": number(r.pooledAUC), "pooled_accuracy": number(r.pooledAccuracy),
         "samples_per_sec": number(Double(r.samples) / r.evalSeconds)]
    }

    /// `eval` is null when evaluation was off (`--no_eval`).
    public static func summaryRecord(_ s: TrainingSummary, dataset: String, model: String = "mmoe", tasks: [String],
                                     peakRSSMB: Double?) -> [String: Any] {
        let eval: Any = s.finalEvaluation.map { e in
            ["auc": byTask(tasks, e.auc), "logloss": byTask(tasks, e.logLoss), "accuracy": byTask(tasks, e.accuracy),
             "loss": byTask(tasks, e.loss),
             "pooled_auc": number(e.pooledAUC), "pooled_accuracy": number(e.pooledAccuracy),
             "samples": e.samples, "seconds": e.evalSeconds, "samples_per_sec": number(Double(e.samples) / e.evalSeconds)] as [String: Any]
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
