import Foundation

extension TrainCommand {
    /// What to try after a run, printed just before its summary line (which stays the last line,
    /// as scripts read it): real data after the built-in synthetic data, then the two ways to look
    /// at the run.
    func nextSteps(_ o: TrainOptions, kind: DatasetKind) -> [String] {
        var lines = ["Next:"]
        if kind == .synthetic {
            lines.append("  train on real data: mmoe-train --data_dir DIR (Census-income: census-income.data[.gz] and census-income.test[.gz]; Taobao: DeepRec's taobao_train_data and taobao_test_data)")
        }
        lines.append("  the run as one page: mmoe-report run \(o.outputDir)   (writes \((o.outputDir as NSString).appendingPathComponent("report.html")))")
        if o.tensorboard { lines.append("  the run in TensorBoard: tensorboard --logdir \(o.outputDir)") }
        return lines
    }
}
