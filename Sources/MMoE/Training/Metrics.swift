import Foundation

/// Binary-classification metrics computed from logits, in Double.
///
/// Logits rather than probabilities: ranking by the logit is the same order as by the probability,
/// but the Float sigmoid rounds large logits to exactly 1 and would create ties that are not there.
public enum Metrics {
    /// Exact ROC AUC: the probability that a random positive scores above a random negative, ties
    /// counting one half (Mann-Whitney U with average ranks). NaN when one class is absent.
    public static func auc(scores: [Float], labels: [Float]) -> Double {
        precondition(scores.count == labels.count, "auc: \(scores.count) scores but \(labels.count) labels")
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var positives = 0.0, rankSum = 0.0
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            // Ranks i+1 ... j+1 share their average.
            let averageRank = Double(i + j + 2) / 2
            for k in i...j where labels[order[k]] > 0.5 {
                positives += 1
                rankSum += averageRank
            }
            i = j + 1
        }
        let negatives = Double(order.count) - positives
        guard positives > 0 && negatives > 0 else { return .nan }
        return (rankSum - positives * (positives + 1) / 2) / (positives * negatives)
    }

    /// Mean binary cross-entropy of `logits` against `labels`, in the overflow-free form
    /// max(x, 0) - x·y + log(1 + e^-|x|).
    public static func logLoss(logits: [Float], labels: [Float]) -> Double {
        precondition(logits.count == labels.count && !logits.isEmpty, "logLoss: needs equal, non-empty inputs")
        var total = 0.0
        for (x, y) in zip(logits, labels) {
            let xd = Double(x), yd = Double(y)
            total += max(xd, 0) - xd * yd + log1p(exp(-abs(xd)))
        }
        return total / Double(logits.count)
    }

    /// Mean of (prediction - label)², in Double: a regression task's test loss.
    public static func meanSquaredError(predictions: [Float], labels: [Float]) -> Double {
        precondition(predictions.count == labels.count && !predictions.isEmpty, "meanSquaredError: needs equal, non-empty inputs")
        var total = 0.0
        for (x, y) in zip(predictions, labels) { total += (Double(x) - Double(y)) * (Double(x) - Double(y)) }
        return total / Double(predictions.count)
    }

    /// Fraction of rows where the prediction (probability > 0.5, i.e. logit > 0) equals the label.
    public static func accuracy(logits: [Float], labels: [Float]) -> Double {
        precondition(logits.count == labels.count && !logits.isEmpty, "accuracy: needs equal, non-empty inputs")
        var right = 0
        for (x, y) in zip(logits, labels) where (x > 0) == (y > 0.5) { right += 1 }
        return Double(right) / Double(logits.count)
    }
}
