import Foundation

/// One `mmoe-train` run directory as a single self-contained HTML page (`mmoe-report run DIR`
/// writes `DIR/report.html`): the training loss per task against the step, the test AUC and test
/// loss per task at each evaluation, the training throughput, the gate report when the run wrote
/// one, the summary and the flags. Charts are inline SVG from the project's chart code; the page
/// loads nothing from elsewhere (no scripts, no external styles), so it can be mailed or archived.
///
/// It reads `metrics.jsonl` (required), `summary.json` (absent while a run is still going),
/// `flags.json` and `gate_report.json` (each optional).
public struct RunReport: Sendable {
    /// One `train` record of metrics.jsonl.
    public struct Step: Sendable, Equatable {
        public var step: Int
        /// Per task; NaN where the record has null.
        public var loss: [String: Double]
        public var samplesPerSecond: Double
    }

    /// One `eval` record of metrics.jsonl.
    public struct Evaluation: Sendable, Equatable {
        public var step: Int
        public var epoch: Int
        /// Per task; a regression task has no AUC (absent here) and its MSE as its loss.
        public var auc: [String: Double]
        public var loss: [String: Double]
    }

    public var directory: String
    public var tasks: [String]
    public var steps: [Step]
    public var evaluations: [Evaluation]
    /// summary.json's lines worth showing, in order (empty: no summary.json yet).
    public var summary: [(String, String)]
    /// flags.json's (name, value) pairs, by name; empty when the file is absent.
    public var flags: [(String, String)]
    public var gates: GateReport?
    /// The model and dataset names from summary.json, when known.
    public var model: String?, dataset: String?

    /// Reads the run in `directory`; a file that is there but cannot be read is an error naming it
    /// (and the line, for metrics.jsonl).
    public static func load(directory: String) throws(ReportError) -> RunReport {
        func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ReportError("\(directory): no such directory")
        }
        let metricsPath = path("metrics.jsonl")
        guard let data = FileManager.default.contents(atPath: metricsPath) else {
            throw ReportError("\(metricsPath): no such file (is \(directory) an mmoe-train --output_dir?)")
        }
        var steps: [Step] = [], evaluations: [Evaluation] = []
        var taskOrder: [String] = []
        for (i, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            let place = "\(metricsPath):\(i + 1)"
            guard let record = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                throw ReportError("\(place): not a JSON object")
            }
            guard let step = record["step"] as? Int else { throw ReportError("\(place): field \"step\" is missing or not an integer") }
            let loss = try byTask(record, "loss", in: place)
            for task in loss.keys.sorted() where !taskOrder.contains(task) { taskOrder.append(task) }
            switch record["type"] as? String {
            case "train":
                steps.append(Step(step: step, loss: loss, samplesPerSecond: (record["samples_per_sec"] as? Double) ?? .nan))
            case "eval":
                // The validation set's evaluations pick the model; the charts show the test set's.
                if record["split"] as? String == "valid" { continue }
                let auc = try byTask(record, "auc", in: place).filter { $0.value.isFinite }
                evaluations.append(Evaluation(step: step, epoch: record["epoch"] as? Int ?? 0, auc: auc, loss: loss))
            default:
                throw ReportError("\(place): field \"type\" is neither \"train\" nor \"eval\"")
            }
        }
        var report = RunReport(directory: directory, tasks: taskOrder, steps: steps, evaluations: evaluations,
                               summary: [], flags: [], gates: nil)
        if let summary = try optionalObject(path("summary.json")) {
            if let tasks = summary["tasks"] as? [String] { report.tasks = tasks }
            report.model = summary["model"] as? String
            report.dataset = summary["dataset"] as? String
            report.summary = summaryRows(summary, tasks: report.tasks)
        }
        if let flags = try optionalObject(path("flags.json")) {
            report.flags = flags.keys.sorted().map { ($0, "\(flags[$0]!)") }
        }
        if let gates = try optionalObject(path("gate_report.json")) {
            report.gates = try gateReport(gates, in: path("gate_report.json"))
        }
        return report
    }

    /// The page.
    public func html() -> String {
        let title = "mmoe-train run: " + ([model, dataset].compactMap { $0 }.joined(separator: " on ")).ifEmpty(directory)
        /// One line per task through its finite values.
        func lines(_ rows: [(Int, [String: Double])]) -> [LineSeries] {
            tasks.compactMap { task in
                let points = rows.compactMap { r in r.1[task].flatMap { v in v.isFinite ? ChartPoint(x: Double(r.0), y: v) : nil } }
                return points.isEmpty ? nil : LineSeries(name: task, points: points)
            }
        }
        let trainLoss = LineChart(title: "Training loss per task", xLabel: "step", yLabel: "batch loss (BCE, or MSE)",
                                  series: lines(steps.map { ($0.step, $0.loss) }))
        let auc = LineChart(title: "Test AUC per task", xLabel: "step", yLabel: "AUC",
                            series: lines(evaluations.map { ($0.step, $0.auc) }))
        let testLoss = LineChart(title: "Test loss per task", xLabel: "step", yLabel: "log loss (or MSE)",
                                 series: lines(evaluations.map { ($0.step, $0.loss) }))
        let throughput = LineChart(title: "Training throughput", xLabel: "step", yLabel: "samples/s",
                                   series: [LineSeries(name: "samples/s", points: steps.compactMap { s in
                                       s.samplesPerSecond.isFinite ? ChartPoint(x: Double(s.step), y: s.samplesPerSecond) : nil })])
        var charts = [trainLoss.svg(), testLoss.svg()]
        if evaluations.contains(where: { !$0.auc.isEmpty }) || evaluations.isEmpty { charts.insert(auc.svg(), at: 1) }
        charts.append(throughput.svg())

        var body = "<h1>\(Self.escape(title))</h1>\n"
        body += "<p class=\"meta\">\(Self.escape(directory)): \(steps.count) step reports, \(evaluations.count) evaluations"
        if evaluations.isEmpty { body += " (no evaluation: a --no_eval run, or one that has not reached its first)" }
        body += ".</p>\n"
        if !summary.isEmpty { body += "<h2>Summary</h2>\n" + Self.table(summary) }
        else { body += "<p class=\"meta\">No summary.json yet: the run has not finished.</p>\n" }
        body += "<h2>Curves</h2>\n<div class=\"charts\">\n" + charts.map(Self.inline).joined(separator: "\n") + "\n</div>\n"
        if let gates {
            body += "<h2>Gates</h2>\n<div class=\"charts\">\n" + Self.inline(gates.chart(model: model ?? "model").svg()) + "\n</div>\n"
            body += "<ul>\n" + (gates.summaryLines + gates.warnings).map { "<li>\(Self.escape($0))</li>" }.joined(separator: "\n") + "\n</ul>\n"
        }
        if !evaluations.isEmpty {
            body += "<h2>Evaluations</h2>\n"
            let header = ["epoch", "step"] + tasks.flatMap { t in ["AUC \(t)", "loss \(t)"] }
            let rows = evaluations.map { e in
                ["\(e.epoch)", "\(e.step)"] + tasks.flatMap { t in [e.auc[t].map(Self.number) ?? "", e.loss[t].map(Self.number) ?? ""] }
            }
            body += Self.grid(header, rows)
        }
        body += "<h2>Flags</h2>\n"
        if flags.isEmpty {
            body += "<p class=\"meta\">No flags.json in the run directory.</p>\n"
        } else {
            // Three tables side by side: about 90 flags stay on one screen.
            let per = (flags.count + 2) / 3
            body += "<div class=\"flags\">\n" + stride(from: 0, to: flags.count, by: per)
                .map { Self.table(Array(flags[$0..<min($0 + per, flags.count)])) }.joined() + "</div>\n"
        }
        return """
            <!DOCTYPE html>
            <html xmlns="http://www.w3.org/1999/xhtml" lang="en">
            <head>
            <meta charset="utf-8"/>
            <title>\(Self.escape(title))</title>
            <style>
            body { font-family: Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1180px; color: #222; padding: 0 12px; }
            h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #ddd; }
            .meta { color: #666; }
            .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 12px; }
            .charts svg { width: 100%; height: auto; border: 1px solid #eee; }
            table { border-collapse: collapse; font-size: 13px; }
            td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
            th { background: #f4f4f4; }
            .flags { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
            </style>
            </head>
            <body>
            \(body)</body>
            </html>

            """
    }

    /// Writes `report.html` into the run directory; returns its path.
    public func write() throws(ReportError) -> String {
        let path = (directory as NSString).appendingPathComponent("report.html")
        do { try Data(html().utf8).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw ReportError("\(path): cannot write (\(error.localizedDescription))")
        }
        return path
    }

    // MARK: reading

    private static func byTask(_ record: [String: Any], _ key: String, in place: String) throws(ReportError) -> [String: Double] {
        guard let object = record[key] as? [String: Any] else { throw ReportError("\(place): field \"\(key)\" is missing or not an object of per-task values") }
        var out: [String: Double] = [:]
        for (task, value) in object {
            if value is NSNull { out[task] = .nan; continue }
            guard let n = value as? NSNumber else { throw ReportError("\(place): field \"\(key).\(task)\" is not a number (\(value))") }
            out[task] = n.doubleValue
        }
        return out
    }

    private static func optionalObject(_ path: String) throws(ReportError) -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ReportError("\(path): not a JSON object")
        }
        return object
    }

    private static func summaryRows(_ s: [String: Any], tasks: [String]) -> [(String, String)] {
        var rows: [(String, String)] = []
        func add(_ name: String, _ value: Any?) {
            guard let value, !(value is NSNull) else { return }
            rows.append((name, (value as? Double).map(number) ?? "\(value)"))
        }
        add("dataset", s["dataset"])
        add("model", s["model"])
        add("tasks", (s["tasks"] as? [String])?.joined(separator: ", "))
        add("steps", s["steps"])
        add("epochs", s["epochs"])
        if let train = s["train"] as? [String: Any] {
            add("training time (s)", train["seconds"])
            add("training samples/s", train["samples_per_sec"])
            add("global steps/s", train["global_steps_per_sec"])
        }
        if let eval = s["eval"] as? [String: Any] {
            for task in tasks {
                add("test AUC \(task)", (eval["auc"] as? [String: Any])?[task])
                add("test loss \(task)", (eval["loss"] as? [String: Any])?[task])
                add("test accuracy \(task)", (eval["accuracy"] as? [String: Any])?[task])
            }
            if tasks.count > 1 { add("test AUC pooled", eval["pooled_auc"]) }
            add("test rows", eval["samples"])
        } else {
            rows.append(("evaluation", "none (--no_eval)"))
        }
        add("loss scale", s["loss_scale"])
        add("steps skipped for overflow", (s["loss_scale"] is NSNull) ? nil : s["skipped_steps"])
        add("peak RSS (MB)", s["peak_rss_mb"])
        return rows
    }

    private static func gateReport(_ g: [String: Any], in path: String) throws(ReportError) -> GateReport {
        guard let experts = g["experts"] as? Int, let rows = g["rows"] as? Int, let list = g["gates"] as? [[String: Any]] else {
            throw ReportError("\(path): fields \"experts\", \"rows\" and \"gates\" are required")
        }
        var gates: [GateReport.Gate] = []
        for (i, gate) in list.enumerated() {
            guard let name = gate["name"] as? String, let mean = gate["mean_weight"] as? [Any], mean.count == experts else {
                throw ReportError("\(path): gate \(i): \"name\" and \"mean_weight\" (\(experts) numbers) are required")
            }
            func doubles(_ a: [Any]?) -> [Double] { (a ?? []).map { ($0 as? NSNumber)?.doubleValue ?? .nan } }
            gates.append(GateReport.Gate(name: name, meanWeight: doubles(mean),
                                         topWeightHistogram: (gate["top_weight_histogram"] as? [Int]) ?? [],
                                         peakedFraction: (gate["peaked_fraction"] as? NSNumber)?.doubleValue ?? .nan,
                                         dominantFraction: doubles(gate["dominant_fraction"] as? [Any]),
                                         collapsedOnto: gate["collapsed_onto"] as? Int))
        }
        return GateReport(experts: experts, rows: rows, gates: gates)
    }

    // MARK: writing

    static func escape(_ text: String) -> String { SVGDocument.escape(text) }

    /// An SVG file's text as an element inside the page (its XML declaration dropped).
    static func inline(_ svg: String) -> String {
        svg.split(separator: "\n").filter { !$0.hasPrefix("<?xml") }.joined(separator: "\n")
    }

    static func number(_ x: Double) -> String {
        guard x.isFinite else { return "n/a" }
        if x == x.rounded() && abs(x) < 1e12 { return String(Int(x)) }
        return abs(x) >= 100 ? String(format: "%.1f", x) : String(format: "%.6g", x)
    }

    static func table(_ rows: [(String, String)]) -> String {
        "<table>\n" + rows.map { "<tr><th>\(escape($0.0))</th><td>\(escape($0.1))</td></tr>" }.joined(separator: "\n") + "\n</table>\n"
    }

    static func grid(_ header: [String], _ rows: [[String]]) -> String {
        "<table>\n<tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr>\n"
            + rows.map { "<tr>" + $0.map { "<td>\(escape($0))</td>" }.joined() + "</tr>" }.joined(separator: "\n") + "\n</table>\n"
    }
}

private extension String {
    func ifEmpty(_ other: String) -> String { isEmpty ? other : self }
}
