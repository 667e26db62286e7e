import Foundation
import Tensor

/// The synthetic two-task data of the MMoE paper (Ma et al., KDD 2018, section 3.2), where the
/// tasks' correlation is a knob: it lets the trainer be checked on how MMoE copes with task
/// relatedness without any real data.
public enum SyntheticTasks {
    /// The generator's parameters; the defaults are the paper's where it states them.
    public struct Settings: Sendable {
        /// d, the input width.
        public var inputDim: Int
        /// c, the norm of both weight vectors.
        public var scale: Float
        /// m, the number of sine terms.
        public var sinTerms: Int
        /// p, the cosine between the two tasks' weight vectors, in [-1, 1].
        public var correlation: Float
        /// Standard deviation of the label noise (the paper's N(0, 0.01) is a variance).
        public var noiseStd: Float
        /// Seeds the weight vectors, the sine parameters, the inputs and the noise.
        public var seed: UInt64
        /// s: alpha_i and beta_i are drawn from N(0, s²). The paper calls them "given parameters"
        /// and names no distribution; 1 is what the common re-implementations draw (numpy's randn).
        public var alphaBetaStd: Float

        public init(inputDim: Int = 100, scale: Float = 1, sinTerms: Int = 10, correlation: Float = 0.5,
                    noiseStd: Float = 0.1, seed: UInt64 = 2019, alphaBetaStd: Float = 1) {
            self.inputDim = inputDim
            self.scale = scale
            self.sinTerms = sinTerms
            self.correlation = correlation
            self.noiseStd = noiseStd
            self.seed = seed
            self.alphaBetaStd = alphaBetaStd
        }
    }

    /// The two tasks' names, in label order.
    public static let taskNames = ["task1", "task2"]

    /// Paper generator: orthogonal unit vectors u1, u2 in R^d (Gram-Schmidt on Gaussian vectors from
    /// the seeded RNG); w1 = c*u1, w2 = c*(p*u1 + sqrt(1-p^2)*u2); alpha_i, beta_i ~ N(0, s²) for
    /// i = 1..m, shared by both tasks; x ~ N(0, I_d);
    /// y_k = w_k.x + sum_i sin(alpha_i * w_k.x + beta_i) + noise, noise ~ N(0, noiseStd^2).
    ///
    /// Dense features are x, unscaled (`[N, d]`); there are no sparse fields. With `binary` a label
    /// is 1 when y_k is above task k's median over the training rows (the same threshold is used on
    /// the test rows; 0 when there are no training rows), so the training classes are balanced;
    /// otherwise labels are y_k. `weights` is `[w1, w2]`. Draws happen in a fixed order (weights,
    /// alpha, beta, training rows, test rows), so a seed gives the same data every time.
    public static func generate(trainRows: Int, testRows: Int, settings: Settings, binary: Bool)
        -> (train: TabularData, test: TabularData, weights: [[Float]]) {
        generate(trainRows: trainRows, testRows: testRows, settings: settings, binaryTasks: [binary, binary])
    }

    /// As `generate(trainRows:testRows:settings:binary:)`, with each task's labels binary or
    /// real-valued on its own (`binaryTasks` has one entry per task; the data are the same draws).
    public static func generate(trainRows: Int, testRows: Int, settings: Settings, binaryTasks: [Bool])
        -> (train: TabularData, test: TabularData, weights: [[Float]]) {
        precondition(binaryTasks.count == 2, "SyntheticTasks: two tasks, got \(binaryTasks.count) task types")
        let d = settings.inputDim
        let p = Double(settings.correlation)
        precondition(d >= 2, "SyntheticTasks: inputDim must be at least 2 (two orthogonal directions), got \(d)")
        precondition(abs(p) <= 1, "SyntheticTasks: correlation must be in [-1, 1], got \(p)")
        precondition(settings.sinTerms >= 0 && trainRows >= 0 && testRows >= 0, "SyntheticTasks: negative count")

        var rng = SeededRNG(seed: settings.seed, stream: .data)
        let (u1, u2) = orthonormalPair(d, &rng)
        let c = Double(settings.scale)
        let w1 = u1.map { c * $0 }
        let w2 = zip(u1, u2).map { c * (p * $0 + (1 - p * p).squareRoot() * $1) }
        let s = Double(settings.alphaBetaStd)
        let alpha = (0 ..< settings.sinTerms).map { _ in s * Double(rng.nextNormal()) }
        let beta = (0 ..< settings.sinTerms).map { _ in s * Double(rng.nextNormal()) }

        /// `[N, d]` inputs and `[N, 2]` raw targets.
        func draw(_ n: Int) -> (x: [Float], y: [Double]) {
            var x = [Float](repeating: 0, count: n * d)
            var y = [Double](repeating: 0, count: n * 2)
            for i in 0 ..< n {
                for j in 0 ..< d { x[i * d + j] = rng.nextNormal() }
                for (k, w) in [w1, w2].enumerated() {
                    var wx = 0.0
                    for j in 0 ..< d { wx += w[j] * Double(x[i * d + j]) }
                    var s = wx
                    for t in 0 ..< alpha.count { s += sin(alpha[t] * wx + beta[t]) }
                    y[i * 2 + k] = s + Double(settings.noiseStd) * Double(rng.nextNormal())
                }
            }
            return (x, y)
        }
        let train = draw(trainRows)
        let test = draw(testRows)

        func labels(_ y: [Double], thresholds: [Double?]) -> [Float] {
            y.indices.map { i in thresholds[i % 2].map { y[i] > $0 ? 1 : 0 } ?? Float(y[i]) }
        }
        let thresholds = (0 ..< 2).map { k in binaryTasks[k] ? median(stride(from: k, to: train.y.count, by: 2).map { train.y[$0] }) : nil }
        func table(_ n: Int, _ part: (x: [Float], y: [Double])) -> TabularData {
            TabularData(count: n, denseWidth: d, dense: part.x, fieldCount: 0, ids: [], taskNames: taskNames,
                        labels: labels(part.y, thresholds: thresholds))
        }
        return (table(trainRows, train), table(testRows, test), [w1.map { Float($0) }, w2.map { Float($0) }])
    }

    /// Two orthonormal vectors: Gram-Schmidt on two Gaussian draws (redrawn in the practically
    /// impossible case that they are parallel).
    static func orthonormalPair(_ d: Int, _ rng: inout SeededRNG) -> ([Double], [Double]) {
        func gaussian() -> [Double] { (0 ..< d).map { _ in Double(rng.nextNormal()) } }
        func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        func normalized(_ v: [Double]) -> [Double]? {
            let n = dot(v, v).squareRoot()
            return n > 1e-6 ? v.map { $0 / n } : nil
        }
        while true {
            guard let u1 = normalized(gaussian()) else { continue }
            let g = gaussian()
            let along = dot(g, u1)
            guard let u2 = normalized(zip(g, u1).map { $0 - along * $1 }) else { continue }
            return (u1, u2)
        }
    }

    /// Median (mean of the two middle values for an even count); 0 for no values.
    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let s = values.sorted()
        let mid = s.count / 2
        return s.count % 2 == 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
    }
}
