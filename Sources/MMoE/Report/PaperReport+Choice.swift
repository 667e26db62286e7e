import Foundation

/// The learning-rate choice of the correlation study, and the final training loss beside the test
/// loss. With several learning rates for a model at a correlation, the report keeps the one whose
/// seeds have the lowest mean validation loss (`PaperRun.validationLoss`: training losses of
/// batches scored before the model trained on them), never the test loss.
extension PaperReport {
    static func choiceKey(_ model: String, _ correlation: Double) -> String { "\(model)|\(correlation)" }

    /// The runs of each model and correlation, grouped by learning rate (runs without one: none).
    static func byLearningRate(_ runs: [PaperRun]) -> [String: [Double: [PaperRun]]] {
        var groups: [String: [Double: [PaperRun]]] = [:]
        for run in runs {
            guard let lr = run.learningRate else { continue }
            groups[choiceKey(run.model, run.correlation), default: [:]][lr, default: []].append(run)
        }
        return groups
    }

    /// The mean validation loss over `runs` (those that have one; nil for none).
    static func meanValidation(_ runs: [PaperRun]) -> Double? {
        let v = runs.compactMap(\.validationLoss)
        return v.isEmpty ? nil : v.reduce(0, +) / Double(v.count)
    }

    /// Per model and correlation, the only learning rate, or among several the one with the
    /// lowest mean validation loss (the smaller rate on a tie).
    static func chooseLearningRates(_ runs: [PaperRun]) -> [String: Double] {
        byLearningRate(runs).mapValues { rates in
            rates.keys.sorted().min { (meanValidation(rates[$0]!) ?? .infinity) < (meanValidation(rates[$1]!) ?? .infinity) }!
        }
    }

    /// Refuses a choice among learning rates that would not rest on held-out rows: every run of a
    /// model and correlation with several rates must have seen no row twice and recorded its
    /// training losses late in the run.
    static func checkLearningRateChoice(_ runs: [PaperRun]) throws(ReportError) {
        for (_, rates) in byLearningRate(runs) where rates.count > 1 {
            for run in rates.values.joined() {
                let p = correlationLabel(run.correlation)
                guard let epochs = run.epochs, epochs <= 1 + 1e-9 else {
                    throw ReportError("\(run.directory)/summary.json: \(run.model) at p = \(p) was trained at several learning rates, "
                                      + "and choosing among them needs a loss on rows not trained on; this run passed over its rows "
                                      + "\(run.epochs.map { String(format: "%.2f", $0) } ?? "an unknown number of") times "
                                      + "(give rows >= steps x batch, or one learning rate)")
                }
                guard run.validationLoss != nil else {
                    throw ReportError("\(run.directory)/metrics.jsonl: no training loss recorded after three quarters of the steps, "
                                      + "which the choice among learning rates reads (\(run.model) at p = \(p))")
                }
            }
        }
    }

    static func rateLabel(_ lr: Double) -> String { String(format: "%g", lr) }

    /// Markdown: the chosen learning rate per model and correlation, with each rate's mean
    /// validation loss; empty when no run records its learning rate.
    func learningRateSection() -> [String] {
        let groups = Self.byLearningRate(allRuns)
        guard !groups.isEmpty else { return [] }
        if groups.values.allSatisfy({ $0.count == 1 }) {
            // One rate per cell: nothing was chosen, and the late training loss need not be on unseen rows.
            let rates = Set(groups.values.flatMap(\.keys)).sorted().map(Self.rateLabel)
            return ["## Learning rate", "", "Every model was trained at one Adam learning rate per correlation: "
                    + rates.joined(separator: ", ") + " (nothing to choose).", ""]
        }
        var out = ["## Learning rate", "",
                   "The tables above use, per model and correlation, the runs at one Adam learning rate: with several, the one whose seeds "
                   + "have the lowest mean validation loss (the mean over tasks of the training loss of the batches after three quarters "
                   + "of the steps, each scored before the model trained on it, so on rows it had not seen; never the test loss). "
                   + "Each cell: the chosen rate, then every rate's mean validation loss.", ""]
        out += correlationTable("model", rows: models, cellAlign: "---", label: { $0 }) { model, p in
            let key = Self.choiceKey(model, p)
            guard let rates = groups[key], let pick = chosenLearningRates[key] else { return "–" }
            let each = rates.keys.sorted().map { lr in
                "\(Self.rateLabel(lr)): " + (Self.meanValidation(rates[lr]!).map { String(format: "%.4g", $0) } ?? "?")
            }
            return "**\(Self.rateLabel(pick))** (" + each.joined(separator: ", ") + ")"
        }
        out.append("")
        return out
    }

    /// Markdown: the final training loss beside the test loss (means over tasks and seeds), so
    /// overfitting shows; empty when no run recorded a training loss.
    func trainLossSection() -> [String] {
        guard runs.contains(where: { $0.finalTrainLoss != nil }) else { return [] }
        var out = ["## Final training loss beside the test loss", "",
                   "Each cell: the final model's loss on the first training rows (`--train_eval_rows`) / its final test loss, "
                   + "each the mean over tasks and seeds. A training loss far below the test loss means the model fitted its "
                   + "rows rather than the tasks.", ""]
        out += correlationTable("model", rows: models, label: { $0 }) { model, p in
            let chosen = runs(model, p)
            let train = chosen.compactMap(\.meanFinalTrainLoss)
            guard !chosen.isEmpty, !train.isEmpty else { return "–" }
            let test = chosen.map(\.meanFinalLoss)
            return String(format: "%.4g / %.4g", train.reduce(0, +) / Double(train.count), test.reduce(0, +) / Double(test.count))
        }
        out.append("")
        return out
    }
}
