import Foundation

/// Seed-by-seed comparisons with MMoE. A seed fixes the data (with the correlation), so two models
/// trained with the same seed saw the same rows: their difference in final test loss is a paired
/// difference, much less noisy than the difference of the two means.
extension PaperReport {
    /// Per seed, `model`'s final test loss (mean over tasks) minus MMoE's at correlation `p`, for
    /// the seeds both have (at their chosen learning rates).
    public func pairedDifferences(_ model: String, against baseline: String = "mmoe", _ p: Double) -> [(seed: Int, difference: Double)] {
        let base = Dictionary(runs(baseline, p).map { ($0.seed, $0.meanFinalLoss) }) { a, _ in a }
        return runs(model, p).compactMap { run in base[run.seed].map { (run.seed, run.meanFinalLoss - $0) } }.sorted { $0.seed < $1.seed }
    }

    /// Markdown: a summary (mean ± sd of the per-seed differences, and how many are positive) and
    /// one per-seed table per model compared; empty without MMoE or another model.
    func pairedSection() -> [String] {
        let others = models.filter { $0 != "mmoe" }
        guard models.contains("mmoe"), !others.isEmpty else { return [] }
        var out = ["## Paired differences to MMoE, seed by seed", "",
                   "The data depend only on the seed and p, so the runs of one seed are paired: each difference is that model's final "
                   + "test loss minus MMoE's (means over tasks, each at its chosen learning rate); positive means MMoE did better. "
                   + "Each cell: mean ± sample standard deviation of the differences, then in how many seeds MMoE did better.", ""]
        out += correlationTable("difference", rows: others, label: { "\($0) − mmoe" }) { model, p in
            let d = pairedDifferences(model, p).map(\.difference)
            guard !d.isEmpty else { return "–" }
            let s = Spread(d)
            return String(format: "%+.4f ± %.4f (%d of %d)", s.mean, s.std, d.filter { $0 > 0 }.count, d.count)
        }
        out.append("")
        for model in others {
            let table = correlations.map { pairedDifferences(model, $0) }
            let seeds = Set(table.joined().map(\.seed)).sorted()
            guard !seeds.isEmpty else { continue }
            out += ["### \(model) − mmoe per seed", ""]
            out += correlationTable("seed", rows: seeds, firstAlign: "---:", label: { "\($0)" }) { seed, p in
                let column = table[correlations.firstIndex(of: p)!]
                return column.first { $0.seed == seed }.map { String(format: "%+.4f", $0.difference) } ?? "–"
            }
            out.append("")
        }
        return out
    }
}
