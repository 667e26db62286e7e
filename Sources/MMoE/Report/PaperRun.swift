import Foundation

/// A file of a run directory that cannot be read as the report expects; the message names the
/// file (and the line, for metrics.jsonl) and what is wrong.
public struct ReportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One training run of the correlation study, as `Scripts/reproduce_paper.sh` leaves it: a
/// directory holding the script's `run.json` (model, correlation, seed, and the parameter count
/// when known) next to `mmoe-train`'s `summary.json` and `metrics.jsonl`.
public struct PaperRun: Sendable, Equatable {
    /// Test loss of every task after some step: one `eval` record of metrics.jsonl.
    public struct Evaluation: Sendable, Equatable {
        public var step: Int
        /// Per task, in `tasks` order.
        public var loss: [Double]
    }

    /// The run's directory.
    public var directory: String
    /// The `--model` kind trained (`mmoe`, `omoe`, `shared_bottom`).
    public var model: String
    /// The synthetic tasks' correlation p.
    public var correlation: Double
    /// The run's `--seed`.
    public var seed: Int
    /// The run's Adam learning rate, when `run.json` gives it (runs from before the learning-rate
    /// grid have none).
    public var learningRate: Double? = nil
    /// The model's parameter count, when `run.json` gives it.
    public var parameters: Int?
    /// The task names, in label order.
    public var tasks: [String]
    /// The final evaluation's test loss per task (MSE for regression tasks), from summary.json.
    public var finalLoss: [Double]
    /// Every evaluation of the run, in file order.
    public var curve: [Evaluation]
    /// The final model's loss per task on the first training rows (summary.json's `train_eval`,
    /// written with `--train_eval_rows`); nil when the run has none.
    public var finalTrainLoss: [Double]? = nil
    /// Passes over the training rows (summary.json's `epochs`); at most 1 means no row was seen twice.
    public var epochs: Double? = nil
    /// The mean over tasks of the training losses metrics.jsonl records after three quarters of the
    /// steps: each batch's loss is taken before the update it feeds, so while no row is seen twice
    /// (`epochs` <= 1) it is a loss on rows the model has not trained on (progressive validation).
    /// nil when no training loss was recorded there.
    public var validationLoss: Double? = nil

    /// The mean over tasks of the final training loss.
    public var meanFinalTrainLoss: Double? { finalTrainLoss.map { $0.reduce(0, +) / Double(max(1, $0.count)) } }

    /// The mean over tasks of the final test loss: the one number a run is compared by.
    public var meanFinalLoss: Double { finalLoss.reduce(0, +) / Double(max(1, finalLoss.count)) }

    /// Reads the run in `directory`.
    public static func load(directory: String) throws(ReportError) -> PaperRun {
        func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        let runPath = path("run.json"), summaryPath = path("summary.json"), metricsPath = path("metrics.jsonl")

        let run = try object(runPath)
        let model = try field(run, "model", in: runPath, as: String.self)
        let correlation = try number(run, "correlation", in: runPath)
        guard correlation >= -1 && correlation <= 1 else {
            throw ReportError("\(runPath): field \"correlation\" is \(correlation), outside [-1, 1]")
        }
        let seed = try integer(run, "seed", in: runPath)
        let parameters: Int? = run["parameters"] == nil || run["parameters"] is NSNull ? nil : try integer(run, "parameters", in: runPath)
        let learningRate: Double? = run["learning_rate"] == nil ? nil : try number(run, "learning_rate", in: runPath)
        if let learningRate, !(learningRate > 0) { throw ReportError("\(runPath): field \"learning_rate\" is \(learningRate), not positive") }

        let summary = try object(summaryPath)
        let tasks = try field(summary, "tasks", in: summaryPath, as: [String].self)
        guard !tasks.isEmpty else { throw ReportError("\(summaryPath): field \"tasks\" is empty") }
        guard let eval = summary["eval"] as? [String: Any] else {
            throw ReportError("\(summaryPath): field \"eval\" is missing or null (was the run trained with --no_eval?)")
        }
        let finalLoss = try losses(eval, tasks: tasks, in: summaryPath + ": eval")
        let trainEval = summary["train_eval"] as? [String: Any]
        let finalTrainLoss = try trainEval.map { e throws(ReportError) in try losses(e, tasks: tasks, in: summaryPath + ": train_eval") }
        let epochs: Double? = summary["epochs"] == nil ? nil : try number(summary, "epochs", in: summaryPath)
        let steps: Int? = summary["steps"] == nil ? nil : try integer(summary, "steps", in: summaryPath)

        guard FileManager.default.fileExists(atPath: metricsPath) else { throw ReportError("\(metricsPath): no such file") }
        let text: String
        do { text = try String(contentsOfFile: metricsPath, encoding: .utf8) } catch {
            throw ReportError("\(metricsPath): cannot read (\(error.localizedDescription))")
        }
        var curve: [Evaluation] = []
        var lateTrainLosses: [Double] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            let place = "\(metricsPath):\(i + 1)"
            guard let record = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                throw ReportError("\(place): not a JSON object")
            }
            if record["type"] as? String == "train", let steps {
                let step = try integer(record, "step", in: place)
                if 4 * step > 3 * steps {
                    let l = try losses(record, tasks: tasks, in: place)
                    lateTrainLosses.append(l.reduce(0, +) / Double(l.count))
                }
            }
            guard record["type"] as? String == "eval", record["split"] as? String != "valid" else { continue }
            curve.append(Evaluation(step: try integer(record, "step", in: place), loss: try losses(record, tasks: tasks, in: place)))
        }
        return PaperRun(directory: directory, model: model, correlation: correlation, seed: seed, learningRate: learningRate,
                        parameters: parameters, tasks: tasks, finalLoss: finalLoss, curve: curve, finalTrainLoss: finalTrainLoss,
                        epochs: epochs,
                        validationLoss: lateTrainLosses.isEmpty ? nil : lateTrainLosses.reduce(0, +) / Double(lateTrainLosses.count))
    }

    // MARK: JSON fields, each failure naming the file and the field

    private static func object(_ path: String) throws(ReportError) -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ReportError("\(path): no such file") }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ReportError("\(path): not a JSON object")
        }
        return object
    }

    private static func field<T>(_ object: [String: Any], _ name: String, in place: String, as: T.Type) throws(ReportError) -> T {
        guard let value = object[name] else { throw ReportError("\(place): field \"\(name)\" is missing") }
        guard let typed = value as? T else { throw ReportError("\(place): field \"\(name)\" has the wrong type (\(value))") }
        return typed
    }

    private static func number(_ object: [String: Any], _ name: String, in place: String) throws(ReportError) -> Double {
        guard let value = object[name] else { throw ReportError("\(place): field \"\(name)\" is missing") }
        guard let n = value as? NSNumber, n.doubleValue.isFinite else {
            throw ReportError("\(place): field \"\(name)\" is not a finite number (\(value))")
        }
        return n.doubleValue
    }

    private static func integer(_ object: [String: Any], _ name: String, in place: String) throws(ReportError) -> Int {
        let x = try number(object, name, in: place)
        guard x == x.rounded(), abs(x) < 1e15 else { throw ReportError("\(place): field \"\(name)\" is not an integer (\(x))") }
        return Int(x)
    }

    /// Each task's entry of the `loss` object (test loss, MSE for regression tasks); runs from
    /// before the regression tasks landed have only `logloss`, read as the same thing.
    private static func losses(_ record: [String: Any], tasks: [String], in place: String) throws(ReportError) -> [Double] {
        let key = record["loss"] != nil ? "loss" : "logloss"
        guard let byTask = record[key] as? [String: Any] else {
            throw ReportError("\(place): field \"loss\" is missing or not an object of per-task losses")
        }
        var out: [Double] = []
        for task in tasks {
            guard let value = byTask[task] else { throw ReportError("\(place): field \"\(key).\(task)\" is missing") }
            guard let n = value as? NSNumber, n.doubleValue.isFinite else {
                throw ReportError("\(place): field \"\(key).\(task)\" is not a finite number (\(value); the run's loss was not finite?)")
            }
            out.append(n.doubleValue)
        }
        return out
    }
}
