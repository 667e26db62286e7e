import Foundation

/// `--train_eval_rows N`: the final model's loss on the first N training rows, written next to the
/// test loss so a study can see overfitting (a training loss far below the test loss) without
/// reading the noisy per-step losses.
extension TrainCommand {
    /// Refuses `--train_eval_rows` before training when the training rows are not held in memory.
    func checkTrainEval(_ data: LoadedData, _ o: TrainOptions) throws(UsageError) {
        guard o.trainEvalRows > 0, data.trainTable == nil else { return }
        throw UsageError("--train_eval_rows: the \(data.kind.rawValue) training rows are streamed from their file, not held in memory; drop the flag")
    }

    /// The `train_eval` record of summary.json (`loss` per task, MSE for a regression task and log
    /// loss for a binary one; `samples`), after printing it; nil when the flag is off.
    func finalTrainEvaluation(_ trainer: Trainer, _ data: LoadedData, _ o: TrainOptions) throws -> [String: Any]? {
        guard o.trainEvalRows > 0, let train = data.trainTable else { return nil }
        let rows = min(o.trainEvalRows, train.count)
        let report = try trainer.evaluate(.memory(train.gathering(0..<rows)), epoch: 0, step: trainer.settings.trainBatches)
        let tasks = data.taskNames
        print("Final model on the first \(rows) training rows: "
              + tasks.indices.map { "Loss_\(tasks[$0]) \(String(format: "%.6f", report.loss[$0]))" }.joined(separator: ", "))
        return ["loss": RunLog.byTask(tasks, report.loss), "samples": rows]
    }
}
