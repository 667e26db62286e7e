import XCTest
import Datasets

/// The knobs of the paper's generator that `--synthetic_*` and `--task_types` reach.
extension SyntheticTasksTests {
    /// Pearson correlation of the two tasks' real-valued labels.
    func labelCorrelation(_ settings: SyntheticTasks.Settings, rows: Int = 10_000) -> Double {
        let y = SyntheticTasks.generate(trainRows: rows, testRows: 0, settings: settings, binary: false).train.labels
        let a = stride(from: 0, to: y.count, by: 2).map { Double(y[$0]) }
        let b = stride(from: 1, to: y.count, by: 2).map { Double(y[$0]) }
        let ma = a.reduce(0, +) / Double(a.count), mb = b.reduce(0, +) / Double(b.count)
        let cov = zip(a, b).reduce(0) { $0 + ($1.0 - ma) * ($1.1 - mb) }
        let va = a.reduce(0) { $0 + ($1 - ma) * ($1 - ma) }, vb = b.reduce(0) { $0 + ($1 - mb) * ($1 - mb) }
        return cov / (va * vb).squareRoot()
    }

    /// At the paper's d = 100: cos(w1, w2) = p to 1e-6 and |w1| = |w2| = c, for several c and p.
    func testPaperSizeWeightsHaveCosinePToOneMillionth() {
        for (p, c) in [(Float(1), Float(1)), (0.9, 1), (0.5, 3), (0, 1), (-0.7, 0.25)] {
            let w = SyntheticTasks.generate(trainRows: 0, testRows: 0, settings: .init(inputDim: 100, scale: c, correlation: p, seed: 13),
                                            binary: false).weights
            let n1 = dot(w[0], w[0]).squareRoot(), n2 = dot(w[1], w[1]).squareRoot()
            XCTAssertEqual(n1, Double(c), accuracy: 1e-6 * Double(c))
            XCTAssertEqual(n2, Double(c), accuracy: 1e-6 * Double(c))
            XCTAssertEqual(dot(w[0], w[1]) / (n1 * n2), Double(p), accuracy: 1e-6, "p = \(p), c = \(c)")
        }
    }

    /// The labels' correlation falls step by step as p falls through the paper's values.
    func testLabelCorrelationFallsWithP() {
        let ps: [Float] = [1, 0.9, 0.5, 0]
        let r = ps.map { labelCorrelation(.init(correlation: $0, seed: 2019)) }
        print("synthetic label Pearson correlation for p = \(ps): \(r)")
        // p = 1: the tasks differ only by their independent noise, so y1 - y2 has variance 2σ²
        // whatever the seed's sine terms (which set how close r is to 1).
        let settings = SyntheticTasks.Settings(correlation: 1, seed: 2019)
        let y = SyntheticTasks.generate(trainRows: 10_000, testRows: 0, settings: settings, binary: false).train.labels
        let d = stride(from: 0, to: y.count, by: 2).map { Double(y[$0]) - Double(y[$0 + 1]) }
        let meanD = d.reduce(0, +) / Double(d.count)
        let varD = d.reduce(0) { $0 + ($1 - meanD) * ($1 - meanD) } / Double(d.count - 1)
        let noiseVar = Double(settings.noiseStd * settings.noiseStd)
        XCTAssertEqual(varD, 2 * noiseVar, accuracy: 0.05 * 2 * noiseVar)
        XCTAssertGreaterThan(r[0], 0.95)
        for i in 1..<r.count { XCTAssertLessThan(r[i], r[i - 1] - 0.02, "p = \(ps[i]) against p = \(ps[i - 1])") }
    }

    /// alpha_i, beta_i ~ N(0, s²): s = 1 is the default's data exactly; s = 0 leaves
    /// y = w.x + m·sin(0) + noise, so y2 - (w2.x) is pure noise of the given std.
    func testAlphaBetaStdAndNoise() {
        let base = SyntheticTasks.Settings(inputDim: 12, correlation: 0.3, seed: 4)
        var explicit = base
        explicit.alphaBetaStd = 1
        let a = SyntheticTasks.generate(trainRows: 30, testRows: 10, settings: base, binary: false)
        let b = SyntheticTasks.generate(trainRows: 30, testRows: 10, settings: explicit, binary: false)
        XCTAssertEqual(a.train.labels, b.train.labels)
        var flat = base
        flat.alphaBetaStd = 0
        flat.noiseStd = 0.5
        let g = SyntheticTasks.generate(trainRows: 4_000, testRows: 0, settings: flat, binary: false)
        var residuals: [Double] = []
        for i in 0..<g.train.count {
            let x = Array(g.train.dense[(i * 12)..<((i + 1) * 12)])
            residuals.append(Double(g.train.labels[i * 2 + 1]) - dot(g.weights[1], x))
        }
        let std = (residuals.map { $0 * $0 }.reduce(0, +) / Double(residuals.count)).squareRoot()
        XCTAssertEqual(std, 0.5, accuracy: 0.02)
    }

    /// One binary task and one regression task: the same draws, labels typed per task.
    func testLabelsTypedPerTask() {
        let s = SyntheticTasks.Settings(inputDim: 10, seed: 8)
        let mixed = SyntheticTasks.generate(trainRows: 200, testRows: 50, settings: s, binaryTasks: [true, false])
        let binary = SyntheticTasks.generate(trainRows: 200, testRows: 50, settings: s, binary: true)
        let raw = SyntheticTasks.generate(trainRows: 200, testRows: 50, settings: s, binary: false)
        XCTAssertEqual(mixed.train.dense, raw.train.dense)
        for (m, (b, r)) in [(mixed.train, (binary.train, raw.train)), (mixed.test, (binary.test, raw.test))] {
            XCTAssertEqual(stride(from: 0, to: m.labels.count, by: 2).map { m.labels[$0] }, stride(from: 0, to: b.labels.count, by: 2).map { b.labels[$0] })
            XCTAssertEqual(stride(from: 1, to: m.labels.count, by: 2).map { m.labels[$0] }, stride(from: 1, to: r.labels.count, by: 2).map { r.labels[$0] })
        }
    }
}
