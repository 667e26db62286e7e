import Tensor

/// How each task's loss enters training and which rows count for it: a weight multiplying the
/// task's loss, and an optional condition task (ESMM's "CVR on clicked rows").
///
/// A row counts for task t when its label is not NaN (NaN is a missing label) and, when t has a
/// condition c, the row's label of c is 1. Only counted rows add to t's loss, gradient and
/// metrics; the other tasks still train on the row. t's loss on a batch is its weight times the
/// mean of its per-row losses over the batch's counted rows; a batch with none adds 0 to the
/// loss and 0 to every gradient.
///
/// The default (`TaskLossSettings()`) weighs every task 1 and conditions none; with it and no
/// missing label the trainer takes its usual path, bit for bit.
public struct TaskLossSettings: Sendable, Equatable {
    /// One per task (multiplying its loss), or empty: all 1.
    public var weights: [Float]
    /// One per task: nil, or the index of the binary task whose label must be 1 for a row to
    /// count; or empty: no conditions.
    public var conditions: [Int?]

    public init(weights: [Float] = [], conditions: [Int?] = []) {
        self.weights = weights
        self.conditions = conditions
    }

    /// Task t's weight.
    public func weight(_ t: Int) -> Float { weights.isEmpty ? 1 : weights[t] }
    /// Task t's condition task, if any.
    public func condition(_ t: Int) -> Int? { conditions.isEmpty ? nil : conditions[t] }

    /// Every weight 1 and no condition: nothing but a missing label leaves a row out.
    public var isPlain: Bool { weights.allSatisfy { $0 == 1 } && conditions.allSatisfy { $0 == nil } }

    /// Checks the settings against the tasks (names in label order, with their types); the
    /// message names the task and what is wrong with it.
    public func check(taskNames: [String], taskTypes: [TaskType]) throws(OptionsError) {
        let n = taskNames.count
        if !weights.isEmpty {
            guard weights.count == n else {
                throw OptionsError("--task_weights has \(weights.count) entries for \(n) tasks (\(taskNames.joined(separator: ", "))); give one per task")
            }
            for (t, w) in weights.enumerated() where !(w.isFinite && w >= 0) {
                throw OptionsError("--task_weights: task \(taskNames[t])'s weight \(w) must be a finite number >= 0")
            }
            guard weights.contains(where: { $0 > 0 }) else {
                throw OptionsError("--task_weights: every weight is 0, so nothing would train; give at least one task a positive weight")
            }
        }
        if !conditions.isEmpty {
            guard conditions.count == n else {
                throw OptionsError("--task_conditions has \(conditions.count) entries for \(n) tasks (\(taskNames.joined(separator: ", "))); give one per task (- for none)")
            }
            for (t, c) in conditions.enumerated() {
                guard let c else { continue }
                guard c >= 0 && c < n else { throw OptionsError("--task_conditions: task \(taskNames[t]) names task \(c), which does not exist") }
                guard c != t else { throw OptionsError("--task_conditions: task \(taskNames[t]) cannot be conditioned on itself") }
                guard taskTypes[c] == .binary else {
                    throw OptionsError("--task_conditions: task \(taskNames[t]) is conditioned on \(taskNames[c]), which is a regression task; a condition must be a binary task (its label 1 selects the rows)")
                }
            }
        }
    }

    /// Whether row `b` counts for task `t`, with labels `[T, B]` task-major in `labels`.
    @inline(__always)
    func isCounted(_ t: Int, _ b: Int, batch: Int, labels: [Float]) -> Bool {
        guard !labels[t * batch + b].isNaN else { return false }
        guard let c = condition(t) else { return true }
        return labels[c * batch + b] == 1
    }

    /// For labels `[T, B]` (task-major, as `Batch.labels`): which entries count (`[T * B]`) and
    /// how many rows count for each task; nil when every entry counts (no missing label, no
    /// condition), the case the trainer keeps its usual path for.
    func included(_ labels: Tensor) -> (include: [Bool], counts: [Int])? {
        let values = labels.contiguous().scalars
        let (t, b) = (labels.shape[0], labels.shape[1])
        if conditions.allSatisfy({ $0 == nil }) && !values.contains(where: \.isNaN) { return nil }
        var include = [Bool](repeating: false, count: t * b), counts = [Int](repeating: 0, count: t)
        for task in 0..<t {
            for row in 0..<b where isCounted(task, row, batch: b, labels: values) {
                include[task * b + row] = true
                counts[task] += 1
            }
        }
        return (include, counts)
    }

    /// Task `t`'s scores and labels restricted to the rows that count for it (`labels` holds
    /// every task's labels, `[T][N]`); the inputs as they are when all count.
    func countedRows(_ t: Int, scores: [Float], labels: [[Float]]) -> (scores: [Float], labels: [Float]) {
        let own = labels[t]
        let condition = condition(t)
        if condition == nil && !own.contains(where: \.isNaN) { return (scores, own) }
        var s: [Float] = [], l: [Float] = []
        for i in own.indices where !own[i].isNaN && condition.map({ labels[$0][i] == 1 }) ?? true {
            s.append(scores[i])
            l.append(own[i])
        }
        return (s, l)
    }
}
