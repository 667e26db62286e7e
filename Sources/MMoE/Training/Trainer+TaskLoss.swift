import Foundation
import Tensor

/// The rows an evaluation scored.
public enum EvalSplit: String, Sendable {
    case test, valid
}

extension EvalReport {
    /// Per task, a regression task's root mean squared error (NaN for a binary task).
    public var rootMeanSquaredError: [Double] {
        taskTypes.indices.map { taskTypes[$0] == .regression ? loss[$0].squareRoot() : .nan }
    }

    /// The mean AUC over the binary tasks whose AUC is defined (both classes among their counted
    /// rows); NaN when there is none.
    public var meanAUC: Double {
        let defined = taskTypes.indices.filter { taskTypes[$0] == .binary && auc[$0].isFinite }.map { auc[$0] }
        return defined.isEmpty ? .nan : defined.reduce(0, +) / Double(defined.count)
    }

    /// Rows task `t`'s metrics counted.
    public func samples(task t: Int) -> Int { taskSamples.isEmpty ? samples : taskSamples[t] }
}

/// Per-task metrics of scores and labels already restricted to each task's counted rows. A task
/// with no counted rows has every metric NaN (undefined), as has the AUC of a task with one class.
struct TaskMetrics {
    var auc: [Double] = [], logLoss: [Double] = [], accuracy: [Double] = [], loss: [Double] = [], meanAbsoluteError: [Double] = []

    init(_ counted: [(scores: [Float], labels: [Float])], types: [TaskType]) {
        for (t, (scores, labels)) in counted.enumerated() {
            if types[t] == .regression {
                auc.append(.nan)
                logLoss.append(.nan)
                accuracy.append(.nan)
                loss.append(labels.isEmpty ? .nan : Metrics.meanSquaredError(predictions: scores, labels: labels))
                meanAbsoluteError.append(labels.isEmpty ? .nan : Metrics.meanAbsoluteError(predictions: scores, labels: labels))
                continue
            }
            guard !labels.isEmpty else {
                auc.append(.nan); logLoss.append(.nan); accuracy.append(.nan); loss.append(.nan); meanAbsoluteError.append(.nan)
                continue
            }
            auc.append(Metrics.auc(scores: scores, labels: labels))
            logLoss.append(Metrics.logLoss(logits: scores, labels: labels))
            accuracy.append(Metrics.accuracy(logits: scores, labels: labels))
            loss.append(logLoss[t])
            meanAbsoluteError.append(.nan)
        }
    }
}

extension Metrics {
    /// Mean of |prediction - label|, in Double: a regression task's MAE.
    public static func meanAbsoluteError(predictions: [Float], labels: [Float]) -> Double {
        precondition(predictions.count == labels.count && !predictions.isEmpty, "meanAbsoluteError: needs equal, non-empty inputs")
        var total = 0.0
        for (x, y) in zip(predictions, labels) { total += abs(Double(x) - Double(y)) }
        return total / Double(predictions.count)
    }
}

extension Trainer {
    /// nil when every label of `batches` counts and every task weighs 1: the step then takes the
    /// model's own loss, as it always has. Otherwise each task's weight over its counted rows in
    /// the whole step (all micro-batches), so its term is a weighted mean over them; 0 for a task
    /// with no counted row. Also adds the step's counted rows to `trainedTaskRows`.
    func taskCoefficients(_ batches: [Batch]) -> [Float]? {
        let tasks = taskNames.count
        let plans = batches.map { settings.taskLoss.included($0.labels) }
        guard !settings.taskLoss.isPlain || plans.contains(where: { $0 != nil }) else {
            let rows = batches.reduce(0) { $0 + $1.size }
            for t in 0..<tasks { trainedTaskRows[t] += rows }
            return nil
        }
        var counts = [Int](repeating: 0, count: tasks)
        for (batch, plan) in zip(batches, plans) {
            for t in 0..<tasks { counts[t] += plan?.counts[t] ?? batch.size }
        }
        for t in 0..<tasks { trainedTaskRows[t] += counts[t] }
        return (0..<tasks).map { counts[$0] == 0 ? 0 : settings.taskLoss.weight($0) / Float(counts[$0]) }
    }

    /// The loss of outputs `[T, B]` against `labels` `[T, B]` with per-row task weights
    /// `coefficients`: only the entries that count (`TaskLossSettings`) take part.
    func maskedLoss(_ logits: Variable, _ labels: Tensor, _ coefficients: [Float]) -> Variable {
        let include = settings.taskLoss.included(labels)?.include ?? Array(repeating: true, count: labels.count)
        return logits.maskedTaskLoss(labels, regression: model.config.resolvedTaskTypes.map { $0 == .regression },
                                     include: include, coefficients: coefficients)
    }

    /// Each task's mean loss over the step's rows that count for it (unweighted: the task's own
    /// loss), NaN for a task with none; the usual computation when every label counts.
    func stepTaskLosses(_ logits: [Tensor], _ batches: [Batch]) -> [Double] {
        let types = model.config.resolvedTaskTypes
        let rows = batches.reduce(0) { $0 + $1.size }
        let plans = batches.map { settings.taskLoss.included($0.labels) }
        guard plans.contains(where: { $0 != nil }) else {
            // Each task's mean loss over all the step's rows.
            var losses = [Double](repeating: 0, count: model.config.numTasks)
            for (l, batch) in zip(logits, batches) {
                for (t, loss) in Self.taskLosses(l, batch.labels, types: types).enumerated() { losses[t] += loss * Double(batch.size) / Double(rows) }
            }
            return losses
        }
        var sums = [Double](repeating: 0, count: types.count), counts = [Int](repeating: 0, count: types.count)
        for (l, (batch, plan)) in zip(logits, zip(batches, plans)) {
            let x = l.contiguous().scalars, y = batch.labels.contiguous().scalars, b = batch.size
            for t in types.indices {
                for i in (t * b)..<((t + 1) * b) where plan?.include[i] ?? true {
                    let (xi, yi) = (Double(x[i]), Double(y[i]))
                    sums[t] += types[t] == .regression ? (xi - yi) * (xi - yi) : max(xi, 0) - xi * yi + log1p(exp(-abs(xi)))
                    counts[t] += 1
                }
            }
        }
        return types.indices.map { counts[$0] == 0 ? .nan : sums[$0] / Double(counts[$0]) }
    }
}
