import XCTest
import Tensor
@testable import MMoE

final class MetricsTests: XCTestCase {
    /// AUC by definition: over all (positive, negative) pairs, 1 when the positive scores higher, 1/2 on a tie.
    func pairwiseAUC(_ s: [Float], _ y: [Float]) -> Double {
        var wins = 0.0, pairs = 0.0
        for i in s.indices where y[i] == 1 {
            for j in s.indices where y[j] == 0 {
                pairs += 1
                wins += s[i] > s[j] ? 1 : (s[i] == s[j] ? 0.5 : 0)
            }
        }
        return wins / pairs
    }

    func testAUCMatchesPairwiseDefinitionWithTies() {
        var rng = SeededRNG(seed: 3)
        for n in [2, 5, 37, 300] {
            // Scores drawn from few values, so ties are frequent.
            let s = (0..<n).map { _ in Float(rng.next() % 7) }
            var y = (0..<n).map { _ in Float(rng.next() % 2) }
            y[0] = 0; y[1] = 1
            XCTAssertEqual(Metrics.auc(scores: s, labels: y), pairwiseAUC(s, y), accuracy: 1e-12, "n = \(n)")
        }
        XCTAssertEqual(Metrics.auc(scores: [0.1, 0.9], labels: [0, 1]), 1)
        XCTAssertEqual(Metrics.auc(scores: [0.9, 0.1], labels: [0, 1]), 0)
        XCTAssertEqual(Metrics.auc(scores: [0.5, 0.5, 0.5], labels: [0, 1, 1]), 0.5)
        XCTAssertTrue(Metrics.auc(scores: [1, 2], labels: [1, 1]).isNaN)
    }

    func testLogLossAndAccuracy() {
        XCTAssertEqual(Metrics.logLoss(logits: [0, 0], labels: [0, 1]), log(2), accuracy: 1e-12)
        // Large logits stay finite and exact.
        XCTAssertEqual(Metrics.logLoss(logits: [1000], labels: [0]), 1000, accuracy: 1e-9)
        XCTAssertEqual(Metrics.logLoss(logits: [-1000], labels: [0]), 0, accuracy: 1e-12)
        XCTAssertEqual(Metrics.accuracy(logits: [2, -1, 0.5, -3], labels: [1, 0, 0, 1]), 0.5)
    }
}
