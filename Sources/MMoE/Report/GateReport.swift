import Foundation
import Tensor

/// How each task's gate spreads its weight over the experts, measured over the test set
/// (`--gate_report`): the mean weight per expert, and how peaked the gate is row by row.
///
/// A gate has *collapsed* onto expert e when e's mean weight is above `threshold` (0.9) or more
/// than a `threshold` share of the rows put more than `threshold` on e: the task then effectively
/// reads one expert, and the mixture does nothing for it.
public struct GateReport: Sendable, Equatable {
    /// One gate's statistics over the test set.
    public struct Gate: Sendable, Equatable {
        /// The task the gate belongs to (a gate shared by all tasks is named so).
        public var name: String
        /// `[E]`: the gate's weight on each expert, averaged over the rows.
        public var meanWeight: [Double]
        /// Rows whose largest weight falls in each of `GateReport.binEdges`' bins.
        public var topWeightHistogram: [Int]
        /// Share of rows whose largest weight is above `threshold`.
        public var peakedFraction: Double
        /// `[E]`: share of rows that put more than `threshold` on each expert.
        public var dominantFraction: [Double]
        /// The expert the gate has collapsed onto, if it has.
        public var collapsedOnto: Int?
    }

    /// The weight above which a row counts as routed to one expert, and the collapse threshold.
    public static let threshold = 0.9
    /// Ten bins of width 0.1 over [0, 1]; each holds [lo, hi), the last also 1.
    public static let binEdges: [Double] = (0...10).map { Double($0) / 10 }
    /// The collapse rule in words, as written into `gate_report.json`.
    public static let collapseRule = "a gate has collapsed onto an expert when that expert's mean weight is above 0.9, "
        + "or more than 90% of the rows put more than 0.9 on it"

    /// E, the number of experts each gate weighs.
    public var experts: Int
    /// Test rows the statistics are over.
    public var rows: Int
    /// One entry per gate, in task order.
    public var gates: [Gate]

    /// Gates that have collapsed.
    public var collapsed: [Gate] { gates.filter { $0.collapsedOnto != nil } }

    /// One warning line per collapsed gate.
    public var warnings: [String] {
        collapsed.map { g in
            let e = g.collapsedOnto!
            return "warning: the gate of \(g.name) has collapsed onto expert \(e): mean weight \(String(format: "%.3f", g.meanWeight[e])), "
                + "\(String(format: "%.1f", 100 * g.dominantFraction[e]))% of the rows put more than \(Self.threshold) on it"
        }
    }

    /// One line per gate: its most used expert and how peaked it is.
    public var summaryLines: [String] {
        gates.map { g in
            let top = g.meanWeight.indices.max { g.meanWeight[$0] < g.meanWeight[$1] } ?? 0
            let weights = g.meanWeight.map { String(format: "%.3f", $0) }.joined(separator: " ")
            return "Gates \(g.name): mean weights [\(weights)], most used expert \(top); "
                + "\(String(format: "%.1f", 100 * g.peakedFraction))% of \(rows) rows put more than \(Self.threshold) on one expert"
                + (g.collapsedOnto != nil ? " (collapsed)" : "")
        }
    }

    public func json(model: String) -> String {
        func number(_ x: Double) -> Any { x.isFinite ? x : NSNull() }
        let gates = self.gates.map { g -> [String: Any] in
            ["name": g.name, "mean_weight": g.meanWeight.map(number), "top_weight_histogram": g.topWeightHistogram,
             "peaked_fraction": number(g.peakedFraction), "dominant_fraction": g.dominantFraction.map(number),
             "collapsed_onto": g.collapsedOnto.map { $0 as Any } ?? NSNull()]
        }
        return RunLog.json(["model": model, "experts": experts, "rows": rows, "threshold": Self.threshold,
                            "top_weight_bin_edges": Self.binEdges, "collapse_rule": Self.collapseRule, "gates": gates]) + "\n"
    }

    /// Grouped bars: per expert, each gate's mean weight, on a 0-1 axis.
    public func chart(model: String) -> GroupedBarChart {
        GroupedBarChart(title: "Mean gate weight per expert (\(model), \(rows) test rows)", xLabel: "expert",
                        yLabel: "mean gate weight", groups: (0..<experts).map(String.init),
                        series: gates.map { g in
                            BarSeries(name: "\(g.name) (\(String(format: "%.0f", 100 * g.peakedFraction))% rows > \(Self.threshold))",
                                      values: g.meanWeight)
                        }, yRange: 0...1)
    }

    /// Writes gate_report.json and gate_report.svg into `directory`; returns their paths.
    public func write(to directory: String, model: String) throws -> [String] {
        let json = (directory as NSString).appendingPathComponent("gate_report.json")
        let svg = (directory as NSString).appendingPathComponent("gate_report.svg")
        try Data(self.json(model: model).utf8).write(to: URL(fileURLWithPath: json), options: .atomic)
        try Data(chart(model: model).svg().utf8).write(to: URL(fileURLWithPath: svg), options: .atomic)
        return [json, svg]
    }
}

/// Sums over batches of gate outputs, turned into a `GateReport` at the end.
public struct GateStatistics: Sendable {
    /// The gates' names, in the order of the gate tensor's first dimension.
    public let names: [String]
    /// E, the number of experts.
    public let experts: Int
    /// Rows added so far.
    public private(set) var rows = 0
    private var weightSums: [[Double]]
    private var histograms: [[Int]]
    private var peaked: [Int]
    private var dominant: [[Int]]

    /// `names`: one per gate, in the order of the gate tensor's first axis.
    public init(names: [String], experts: Int) {
        self.names = names
        self.experts = experts
        weightSums = Array(repeating: Array(repeating: 0, count: experts), count: names.count)
        histograms = Array(repeating: Array(repeating: 0, count: GateReport.binEdges.count - 1), count: names.count)
        peaked = Array(repeating: 0, count: names.count)
        dominant = Array(repeating: Array(repeating: 0, count: experts), count: names.count)
    }

    /// Adds the gate weights `[G, B, E]` of B more rows.
    public mutating func add(_ gates: Tensor) {
        precondition(gates.rank == 3 && gates.shape[0] == names.count && gates.shape[2] == experts,
                     "GateStatistics: gates of shape \(gates.shape), expected [\(names.count), B, \(experts)]")
        let b = gates.shape[1], w = gates.contiguous().scalars
        let bins = histograms[0].count
        for g in 0..<names.count {
            for r in 0..<b {
                let row = (g * b + r) * experts
                var top = -Double.infinity
                for e in 0..<experts {
                    let v = Double(w[row + e])
                    weightSums[g][e] += v
                    top = max(top, v)
                    if v > GateReport.threshold { dominant[g][e] += 1 }
                }
                histograms[g][min(bins - 1, max(0, Int(top * Double(bins))))] += 1
                if top > GateReport.threshold { peaked[g] += 1 }
            }
        }
        rows += b
    }

    public func report() -> GateReport {
        let n = Double(rows)
        let gates = names.indices.map { g -> GateReport.Gate in
            let mean = weightSums[g].map { $0 / n }
            let share = dominant[g].map { Double($0) / n }
            let collapsed = (0..<experts).first { mean[$0] > GateReport.threshold || share[$0] > GateReport.threshold }
            return GateReport.Gate(name: names[g], meanWeight: mean, topWeightHistogram: histograms[g],
                                   peakedFraction: Double(peaked[g]) / n, dominantFraction: share, collapsedOnto: collapsed)
        }
        return GateReport(experts: experts, rows: rows, gates: gates)
    }

    /// The gate report of `model` over every row of `test` (or its first `maxRows`), `batchRows`
    /// rows per forward pass; nil for a model without gates. Gates are named after `tasks`, or
    /// "all tasks (shared gate)" when the model has one gate for several tasks.
    public static func measure(_ model: MMoEModel, test: EvalData, tasks: [String], batchRows: Int = 4096,
                               options: TapeOptions = TapeOptions(), maxRows: Int = .max) throws -> GateReport? {
        guard model.hasGates else { return nil }
        var stats: GateStatistics?
        struct Enough: Error {}
        do {
            try test.chunks { chunk in
                var start = 0
                while start < chunk.count {
                    let left = maxRows - (stats?.rows ?? 0)
                    if left <= 0 { throw Enough() }
                    let end = start + min(batchRows, chunk.count - start, left)
                    guard let gates = model.gateWeights(Batch(chunk, rows: start..<end), options: options) else { return }
                    if stats == nil {
                        let names = gates.shape[0] == tasks.count ? tasks : gates.shape[0] == 1 ? ["all tasks (shared gate)"]
                            : (0..<gates.shape[0]).map { "gate \($0)" }
                        stats = GateStatistics(names: names, experts: gates.shape[2])
                    }
                    stats!.add(gates)
                    start = end
                }
            }
        } catch is Enough {}
        return stats?.report()
    }
}
