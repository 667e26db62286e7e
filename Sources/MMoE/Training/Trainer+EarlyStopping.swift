import Foundation
import Tensor

/// What early stopping compares evaluations by.
public enum EarlyStoppingMetric: Sendable, Equatable, CustomStringConvertible {
    /// The mean AUC over the binary tasks whose AUC is defined (higher is better).
    case aucMean
    /// One task's AUC (higher is better).
    case auc(task: String)
    /// The training objective on the validation rows: Σ_t weight_t · loss_t, over the tasks whose
    /// loss is defined (log loss or MSE; lower is better).
    case loss

    /// `auc_mean`, `auc:<task>` or `loss`.
    public init?(_ text: String) {
        let t = text.trimmingCharacters(in: .whitespaces)
        switch t {
        case "auc_mean": self = .aucMean
        case "loss": self = .loss
        default:
            guard t.hasPrefix("auc:"), t.count > 4 else { return nil }
            self = .auc(task: String(t.dropFirst(4)))
        }
    }

    public var description: String {
        switch self {
        case .aucMean: "auc_mean"
        case .auc(let task): "auc:\(task)"
        case .loss: "loss"
        }
    }

    var higherIsBetter: Bool { self != .loss }

    /// The metric's value in `r`; NaN when undefined (such an evaluation never counts as best).
    func value(_ r: EvalReport, taskNames: [String], weights: TaskLossSettings) -> Double {
        switch self {
        case .aucMean: return r.meanAUC
        case .auc(let task): return taskNames.firstIndex(of: task).map { r.auc[$0] } ?? .nan
        case .loss:
            let defined = r.loss.indices.filter { r.loss[$0].isFinite }
            return defined.isEmpty ? .nan : defined.reduce(0) { $0 + Double(weights.weight($1)) * r.loss[$1] }
        }
    }

    /// Refuses a metric that cannot be read from these tasks.
    public func check(taskNames: [String], taskTypes: [TaskType]) throws(OptionsError) {
        switch self {
        case .aucMean:
            guard taskTypes.contains(.binary) else {
                throw OptionsError("--early_stopping_metric auc_mean needs a binary task; every task is regression here (use loss)")
            }
        case .auc(let task):
            guard let t = taskNames.firstIndex(of: task) else {
                throw OptionsError("--early_stopping_metric auc:\(task): no task \(task) (the tasks are \(taskNames.joined(separator: ", ")))")
            }
            guard taskTypes[t] == .binary else {
                throw OptionsError("--early_stopping_metric auc:\(task): \(task) is a regression task, which has no AUC (use loss)")
            }
        case .loss: break
        }
    }
}

/// The validation evaluation whose weights were kept, and why the run ended.
public struct ModelSelectionReport: Sendable {
    /// The winning evaluation (on the validation set), its 1-based number among the run's
    /// validation evaluations, and its metric value.
    public let best: EvalReport, bestIndex: Int, bestValue: Double
    public let metric: EarlyStoppingMetric
    /// Validation evaluations run.
    public let evaluations: Int
    /// The step after which early stopping ended the run; nil when it ran to the end.
    public let stoppedAtStep: Int?
    /// Evaluations without improvement that stop the run (0: never stops early).
    public let patience: Int
}

/// The validation set, the metric and the best weights so far. After each validation evaluation
/// `record` keeps a copy of the weights if the metric improved (strictly), and says stop once
/// `patience` evaluations in a row have not improved it.
final class ModelSelection {
    let valid: EvalData
    let metric: EarlyStoppingMetric
    let patience: Int
    let taskNames: [String]
    let taskLoss: TaskLossSettings
    private(set) var best: (report: EvalReport, index: Int, value: Double)?
    private(set) var evaluations = 0, sinceBest = 0
    private(set) var stoppedAtStep: Int?
    /// The best evaluation's dense parameters and model-held embedding table.
    private var snapshot: (values: Tensor, embedding: Tensor?)?

    enum Decision { case go, stop }

    init(valid: EvalData, metric: EarlyStoppingMetric, patience: Int, taskNames: [String], taskLoss: TaskLossSettings) {
        self.valid = valid
        self.metric = metric
        self.patience = patience
        self.taskNames = taskNames
        self.taskLoss = taskLoss
    }

    /// Takes validation evaluation `r` of `model`'s current weights.
    func record(_ r: EvalReport, model: MMoEModel) -> Decision {
        evaluations += 1
        let value = metric.value(r, taskNames: taskNames, weights: taskLoss)
        let improves = value.isFinite && best.map { metric.higherIsBetter ? value > $0.value : value < $0.value } ?? value.isFinite
        if improves {
            best = (r, evaluations, value)
            sinceBest = 0
            snapshot = (model.parameters.values.copy(), model.embedding?.value.copy())
        } else {
            sinceBest += 1
        }
        if patience > 0 && sinceBest >= patience {
            stoppedAtStep = r.step
            return .stop
        }
        return .go
    }

    /// Puts the best evaluation's weights back into `model` (nothing when no evaluation had a
    /// defined metric: the last weights stay).
    func restoreBest(into model: MMoEModel) {
        guard let snapshot else { return }
        model.parameters.values.assign(snapshot.values)
        if let embedding = snapshot.embedding { model.embedding?.value.assign(embedding) }
    }
}

extension Trainer {
    /// Evaluations at each epoch boundary and after the last step go to `valid` instead of the
    /// test set; the weights of the best one by `metric` are kept, and after `patience` (> 0)
    /// evaluations in a row without improvement training stops. At the end the best weights are
    /// put back and scored on the test set, once. Needs the model's own embedding table (an
    /// embedding store's rows are not snapshotted).
    public func selectModel(on valid: EvalData, metric: EarlyStoppingMetric = .aucMean, patience: Int = 0) {
        precondition(embeddingStore == nil, "Trainer.selectModel: the best-weights snapshot needs the model's own embedding table")
        precondition(patience >= 0, "Trainer.selectModel: patience must be >= 0")
        selection = ModelSelection(valid: valid, metric: metric, patience: patience, taskNames: taskNames, taskLoss: settings.taskLoss)
    }

    /// The end of a run with a validation set: a validation evaluation of the last weights unless
    /// `lastValid` already is one, the best weights put back (`.modelSelected`), and the test
    /// set's evaluation of them (`.evaluation`), which is returned.
    func selectedModelEvaluation(lastValid: EvalReport?, epoch: Int, step: Int, _ observe: (TrainingEvent) throws -> Void) throws -> EvalReport {
        guard let selection else { preconditionFailure("selectedModelEvaluation without a validation set") }
        if lastValid == nil && selection.stoppedAtStep == nil {
            let report = try evaluate(selection.valid, epoch: epoch, step: step, split: .valid)
            try observe(.evaluation(report))
            _ = selection.record(report, model: model)
        }
        selection.restoreBest(into: model)
        weightPacks.invalidate()
        if let best = selection.best {
            try observe(.modelSelected(ModelSelectionReport(best: best.report, bestIndex: best.index, bestValue: best.value,
                                                            metric: selection.metric, evaluations: selection.evaluations,
                                                            stoppedAtStep: selection.stoppedAtStep, patience: selection.patience)))
        }
        let final = try evaluate(test, epoch: selection.best?.report.epoch ?? epoch, step: selection.best?.report.step ?? step)
        try observe(.evaluation(final))
        return final
    }
}
