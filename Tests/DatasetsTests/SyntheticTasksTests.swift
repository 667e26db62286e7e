import XCTest
import Datasets

final class SyntheticTasksTests: XCTestCase {
    func dot(_ a: [Float], _ b: [Float]) -> Double { zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) } }

    func testWeightsHaveCosinePAndNormC() {
        for (p, c) in [(Float(0.5), Float(1)), (0, 2), (0.9, 1), (-0.3, 0.5), (1, 1)] {
            let s = SyntheticTasks.Settings(inputDim: 40, scale: c, correlation: p, seed: 7)
            let w = SyntheticTasks.generate(trainRows: 0, testRows: 0, settings: s, binary: true).weights
            XCTAssertEqual(w.count, 2)
            XCTAssertEqual(w[0].count, 40)
            let n1 = dot(w[0], w[0]).squareRoot(), n2 = dot(w[1], w[1]).squareRoot()
            XCTAssertEqual(n1, Double(c), accuracy: 1e-5)
            XCTAssertEqual(n2, Double(c), accuracy: 1e-5)
            XCTAssertEqual(dot(w[0], w[1]) / (n1 * n2), Double(p), accuracy: 1e-5, "p = \(p)")
        }
    }

    func testShapesAndNames() {
        let g = SyntheticTasks.generate(trainRows: 30, testRows: 12, settings: .init(inputDim: 8), binary: true)
        for (t, n) in [(g.train, 30), (g.test, 12)] {
            XCTAssertEqual(t.count, n)
            XCTAssertEqual(t.denseWidth, 8)
            XCTAssertEqual(t.dense.count, n * 8)
            XCTAssertEqual(t.fieldCount, 0)
            XCTAssertTrue(t.ids.isEmpty)
            XCTAssertEqual(t.taskNames, ["task1", "task2"])
            XCTAssertTrue(t.labels.allSatisfy { $0 == 0 || $0 == 1 })
        }
    }

    func testDeterministicForASeed() {
        let s = SyntheticTasks.Settings(inputDim: 10, seed: 11)
        let a = SyntheticTasks.generate(trainRows: 50, testRows: 20, settings: s, binary: false)
        let b = SyntheticTasks.generate(trainRows: 50, testRows: 20, settings: s, binary: false)
        XCTAssertEqual(a.weights, b.weights)
        XCTAssertEqual(a.train.dense, b.train.dense)
        XCTAssertEqual(a.train.labels, b.train.labels)
        XCTAssertEqual(a.test.dense, b.test.dense)
        XCTAssertEqual(a.test.labels, b.test.labels)
        var other = s
        other.seed = 12
        let c = SyntheticTasks.generate(trainRows: 50, testRows: 20, settings: other, binary: false)
        XCTAssertNotEqual(a.weights, c.weights)
        XCTAssertNotEqual(a.train.labels, c.train.labels)
    }

    func testBinaryLabelsAreBalancedAndAgreeWithRawTargets() {
        let s = SyntheticTasks.Settings(inputDim: 20, correlation: 0.3, seed: 5)
        let binary = SyntheticTasks.generate(trainRows: 2_001, testRows: 1_000, settings: s, binary: true)
        let raw = SyntheticTasks.generate(trainRows: 2_001, testRows: 1_000, settings: s, binary: false)
        XCTAssertEqual(binary.train.dense, raw.train.dense)
        for k in 0 ..< 2 {
            let trainLabels = stride(from: k, to: binary.train.labels.count, by: 2).map { binary.train.labels[$0] }
            let rate = Double(trainLabels.reduce(0, +)) / Double(trainLabels.count)
            XCTAssert((0.45 ... 0.55).contains(rate), "task \(k + 1) positive rate \(rate)")
            let testRate = Double(stride(from: k, to: binary.test.labels.count, by: 2).reduce(0) { $0 + binary.test.labels[$1] }) / 1_000
            XCTAssert((0.4 ... 0.6).contains(testRate), "task \(k + 1) test positive rate \(testRate)")
            // The label is 1 exactly for the targets above one threshold, the same on test rows.
            let ys = stride(from: k, to: raw.train.labels.count, by: 2).map { raw.train.labels[$0] }
            let ones = zip(ys, trainLabels).filter { $0.1 == 1 }.map(\.0)
            let zeros = zip(ys, trainLabels).filter { $0.1 == 0 }.map(\.0)
            XCTAssertLessThan(zeros.max()!, ones.min()!)
            let testYs = stride(from: k, to: raw.test.labels.count, by: 2).map { raw.test.labels[$0] }
            let testLabels = stride(from: k, to: binary.test.labels.count, by: 2).map { binary.test.labels[$0] }
            for (y, label) in zip(testYs, testLabels) { XCTAssertEqual(label, y > zeros.max()! ? 1 : 0) }
        }
    }

    func testLabelCorrelationFollowsTaskCorrelation() {
        func pearson(_ p: Float) -> Double {
            let s = SyntheticTasks.Settings(correlation: p, seed: 2019)
            let y = SyntheticTasks.generate(trainRows: 10_000, testRows: 0, settings: s, binary: false).train.labels
            let a = stride(from: 0, to: y.count, by: 2).map { Double(y[$0]) }
            let b = stride(from: 1, to: y.count, by: 2).map { Double(y[$0]) }
            let ma = a.reduce(0, +) / Double(a.count), mb = b.reduce(0, +) / Double(b.count)
            let cov = zip(a, b).reduce(0) { $0 + ($1.0 - ma) * ($1.1 - mb) }
            let va = a.reduce(0) { $0 + ($1 - ma) * ($1 - ma) }, vb = b.reduce(0) { $0 + ($1 - mb) * ($1 - mb) }
            return cov / (va * vb).squareRoot()
        }
        let low = pearson(0), high = pearson(0.9)
        print("synthetic label Pearson correlation: p = 0.0 -> \(low), p = 0.9 -> \(high)")
        XCTAssertGreaterThan(high, low + 0.3)
    }
}
