import Foundation

/// The correlation study's summary, built from its run directories: the per-run CSV, the
/// mean ± std table, and the charts (`mmoe-report paper`).
public struct PaperReport: Sendable {
    /// The runs the tables and charts summarise: at each model and correlation, those at the
    /// chosen learning rate (all of them when the runs have one learning rate there).
    public let runs: [PaperRun]
    /// Every run read, whatever its learning rate.
    public let allRuns: [PaperRun]
    /// The learning rate chosen per model and correlation (`choiceKey`), where the runs have one.
    public let chosenLearningRates: [String: Double]
    /// Run directories that were left out, with the reason (a run that has not finished has no
    /// run.json yet).
    public let skipped: [String]

    /// The models in the order the tables and legends list them: the paper's baselines first,
    /// then MMoE and its relatives, then any other name alphabetically.
    static let modelOrder = ["single_task", "shared_bottom", "simple_multitask", "omoe", "mmoe", "ple"]

    public init(runs: [PaperRun], skipped: [String] = []) {
        func rank(_ m: String) -> Int { Self.modelOrder.firstIndex(of: m) ?? Self.modelOrder.count }
        let sorted = runs.sorted {
            (rank($0.model), $0.model, -$0.correlation, $0.seed, $0.learningRate ?? 0)
                < (rank($1.model), $1.model, -$1.correlation, $1.seed, $1.learningRate ?? 0)
        }
        allRuns = sorted
        chosenLearningRates = Self.chooseLearningRates(sorted)
        let chosen = chosenLearningRates
        self.runs = sorted.filter { run in
            guard let lr = run.learningRate, let pick = chosen[Self.choiceKey(run.model, run.correlation)] else { return true }
            return lr == pick
        }
        self.skipped = skipped
    }

    /// Every run directory directly under `directory` (sorted by name). A directory without
    /// run.json is skipped and listed in `skipped`; any other problem is an error naming the file.
    /// Two runs of the same model, correlation and seed, or runs whose tasks differ, are errors too.
    public static func load(runsDirectory directory: String) throws(ReportError) -> PaperReport {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted() } catch {
            throw ReportError("--runs \(directory): cannot list the directory (\(error.localizedDescription))")
        }
        var runs: [PaperRun] = [], skipped: [String] = []
        for name in names where !name.hasPrefix(".") {
            let path = (directory as NSString).appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            guard FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("run.json")) else {
                skipped.append("\(path): no run.json (a run that did not finish?)")
                continue
            }
            runs.append(try PaperRun.load(directory: path))
        }
        guard let first = runs.first else { throw ReportError("--runs \(directory): no run directories with a run.json") }
        var seen: [String: String] = [:]
        for run in runs {
            guard run.tasks == first.tasks else {
                throw ReportError("\(run.directory)/summary.json: tasks \(run.tasks) differ from \(first.directory)'s \(first.tasks)")
            }
            let key = "\(run.model) p=\(run.correlation) seed=\(run.seed)" + (run.learningRate.map { " learning_rate=\($0)" } ?? "")
            if let other = seen[key] { throw ReportError("\(run.directory)/run.json: \(key) is also the run in \(other)") }
            seen[key] = run.directory
        }
        try checkLearningRateChoice(runs)
        return PaperReport(runs: runs, skipped: skipped)
    }

    public var tasks: [String] { runs.first?.tasks ?? [] }
    public var models: [String] { runs.map(\.model).reduce(into: []) { if !$0.contains($1) { $0.append($1) } } }
    /// Highest first, as the paper goes from identical tasks to unrelated ones.
    public var correlations: [Double] { Set(runs.map(\.correlation)).sorted(by: >) }

    func runs(_ model: String, _ correlation: Double) -> [PaperRun] {
        runs.filter { $0.model == model && $0.correlation == correlation }
    }

    /// "1.0", "0.9", "0.75", "-0.5": the shortest spelling that reads back, with at least one decimal.
    public static func correlationLabel(_ p: Double) -> String {
        let s = "\(p)"
        return s.contains(".") || s.contains("e") ? s : s + ".0"
    }

    // MARK: statistics

    /// Mean, sample standard deviation (n - 1; 0 for one value), min, max and count of `values`.
    public struct Spread: Sendable, Equatable {
        public var mean: Double, std: Double, min: Double, max: Double, count: Int
        public init(_ values: [Double]) {
            count = values.count
            mean = values.reduce(0, +) / Double(Swift.max(1, count))
            let m = mean
            std = count > 1 ? (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(count - 1)).squareRoot() : 0
            min = values.min() ?? .nan
            max = values.max() ?? .nan
        }
    }

    /// The final test loss of `task` (nil: the mean over tasks) across the seeds of (model, p).
    public func spread(_ model: String, _ correlation: Double, task: Int?) -> Spread {
        Spread(runs(model, correlation).map { run in task.map { run.finalLoss[$0] } ?? run.meanFinalLoss })
    }

    /// The test loss (mean over tasks) at each evaluated step, averaged over the seeds of (model,
    /// p) that evaluated at that step.
    public func meanCurve(_ model: String, _ correlation: Double) -> [ChartPoint] {
        var sums: [Int: (Double, Int)] = [:]
        for run in runs(model, correlation) {
            for e in run.curve {
                let v = e.loss.reduce(0, +) / Double(max(1, e.loss.count))
                sums[e.step, default: (0, 0)].0 += v
                sums[e.step, default: (0, 0)].1 += 1
            }
        }
        return sums.keys.sorted().map { ChartPoint(x: Double($0), y: sums[$0]!.0 / Double(sums[$0]!.1)) }
    }

    // MARK: outputs

    /// `model,correlation,seed,task,final_test_loss,parameters,run,learning_rate,final_train_loss,
    /// validation_loss,chosen`: one row per run (of every learning rate) and task; `chosen` is yes
    /// for the runs the tables summarise. Empty cells: not recorded.
    public func csv() -> String {
        func cell(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var lines = ["model,correlation,seed,task,final_test_loss,parameters,run,learning_rate,final_train_loss,validation_loss,chosen"]
        let chosen = Set(runs.map(\.directory))
        for run in allRuns {
            for (t, task) in run.tasks.enumerated() {
                lines.append([run.model, Self.correlationLabel(run.correlation), "\(run.seed)", task, "\(run.finalLoss[t])",
                              run.parameters.map(String.init) ?? "", (run.directory as NSString).lastPathComponent,
                              run.learningRate.map { "\($0)" } ?? "", run.finalTrainLoss.map { "\($0[t])" } ?? "",
                              run.validationLoss.map { "\($0)" } ?? "", chosen.contains(run.directory) ? "yes" : "no"].map(cell).joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Markdown: per task, and for the mean over tasks, a table with one row per model and one
    /// column per correlation, each cell "mean ± std (n)" of the final test loss over n seeds.
    public func markdownTable() -> String {
        func g(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)g", x) }
        let ps = correlations
        var out = ["# Final test loss by model and task correlation", "",
                   "Each cell: mean ± sample standard deviation of the final test loss (MSE for regression tasks) "
                   + "over the seeds, with the number of seeds in parentheses. Columns: the correlation p between the tasks.", ""]
        let header = "| model | parameters | " + ps.map { "p = \(Self.correlationLabel($0))" }.joined(separator: " | ") + " |"
        let rule = "|---|---:|" + String(repeating: "---:|", count: ps.count)
        for task in [nil] + tasks.indices.map(Optional.some) {
            out.append("## " + (task.map { "Task \(tasks[$0])" } ?? "Mean over the tasks"))
            out.append("")
            out.append(header)
            out.append(rule)
            for model in models {
                let counts = Set(runs.filter { $0.model == model }.compactMap(\.parameters)).sorted()
                let params = counts.isEmpty ? "?" : counts.count == 1 ? "\(counts[0])" : "\(counts.first!)–\(counts.last!)"
                let cells = ps.map { p -> String in
                    let s = spread(model, p, task: task)
                    return s.count == 0 ? "–" : "\(g(s.mean, 4)) ± \(g(s.std, 2)) (\(s.count))"
                }
                out.append("| \(model) | \(params) | " + cells.joined(separator: " | ") + " |")
            }
            out.append("")
        }
        out += learningRateSection() + trainLossSection() + pairedSection()
        return out.joined(separator: "\n")
    }

    /// Test loss against step for every model at correlation `p`, each the mean over seeds and tasks.
    public func lossCurveChart(_ p: Double) -> LineChart {
        let series = models.map { LineSeries(name: $0, points: meanCurve($0, p)) }.filter { !$0.points.isEmpty }
        let positive = series.allSatisfy { $0.points.allSatisfy { $0.y > 0 } }
        return LineChart(title: "Test loss during training, task correlation p = \(Self.correlationLabel(p))",
                         xLabel: "training step", yLabel: "test loss, mean of \(tasks.count) tasks and the seeds" + (positive ? " (log scale)" : ""),
                         logY: positive, series: series)
    }

    /// Final test loss (mean over tasks) against correlation per model: the mean over seeds,
    /// bars from the lowest to the highest seed.
    public func finalLossChart() -> SpreadChart {
        let series = models.map { model in
            SpreadSeries(name: model, points: correlations.compactMap { p in
                let s = spread(model, p, task: nil)
                return s.count == 0 ? nil : SpreadPoint(x: p, center: s.mean, low: s.min, high: s.max)
            })
        }
        let seeds = Set(runs.map(\.seed)).count
        return SpreadChart(title: "Final test loss against task correlation", xLabel: "task correlation p",
                           yLabel: "final test loss, mean of \(tasks.count) tasks (bars: min-max over \(seeds) seed\(seeds == 1 ? "" : "s"))",
                           series: series)
    }

    /// The file names `write` produces, in the order it writes them.
    public var outputNames: [String] {
        ["runs.csv", "table.md"] + correlations.map { "loss_curves_p\(Self.correlationLabel($0)).svg" } + ["final_loss_vs_correlation.svg"]
    }

    /// Writes `outputNames` into `directory` (created if needed); returns their paths.
    @discardableResult
    public func write(to directory: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var contents = [csv(), markdownTable()]
        contents += correlations.map { lossCurveChart($0).svg() }
        contents.append(finalLossChart().svg())
        var paths: [String] = []
        for (name, text) in zip(outputNames, contents) {
            let path = (directory as NSString).appendingPathComponent(name)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            paths.append(path)
        }
        return paths
    }
}
