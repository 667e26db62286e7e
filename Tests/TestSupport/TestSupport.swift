import Tensor

/// Random tensors and a central-difference gradient checker shared by the test targets.
public enum TestSupport {
    /// Uniform values in [lo, hi), optionally kept at least `awayFrom` from zero (for kinks such as
    /// ReLU's, where a finite difference straddling 0 is meaningless).
    public static func random(_ shape: [Int], seed: UInt64, lo: Float = -1, hi: Float = 1, awayFrom: Float = 0) -> Tensor {
        var rng = SeededRNG(seed: seed)
        let n = shape.reduce(1, *)
        var values = [Float]()
        values.reserveCapacity(n)
        for _ in 0..<n {
            var v = lo + (hi - lo) * rng.nextUniform()
            if abs(v) < awayFrom { v = v < 0 ? v - awayFrom : v + awayFrom }
            values.append(v)
        }
        return Tensor(shape: shape, scalars: values)
    }

    public struct Mismatch: CustomStringConvertible {
        public let input: Int, index: Int, analytic: Double, numeric: Double
        public var description: String { "input \(input) element \(index): analytic \(analytic), numeric \(numeric)" }
    }

    /// Compares the gradients that `build` produces for `inputs` with central differences.
    ///
    /// The scalar checked is L = Σ out ⊙ R for a fixed random R, so every output element's
    /// gradient path is exercised. L is summed in Double for the differences; each input element is
    /// perturbed by ±eps. An element passes when |analytic - numeric| <= atol + rtol·|numeric|.
    /// Returns the mismatches (empty when all pass). Both tapes run with `options`.
    public static func gradientMismatches(_ inputs: [Tensor], eps: Float = 1e-2, atol: Double = 2e-3, rtol: Double = 1e-2,
                                          seed: UInt64 = 99, options: TapeOptions = TapeOptions(),
                                          _ build: (Tape, [Variable]) -> Variable) -> [Mismatch] {
        // Analytic gradients.
        let tape = Tape(options: options)
        let vars = inputs.map { tape.variable($0.copy()) }
        let out = build(tape, vars)
        let r = random(out.shape, seed: seed)
        let loss = (out * tape.constant(r)).sum()
        tape.backward(loss)
        let analytic = vars.map { tape.gradient(of: $0)?.contiguous().scalars ?? [Float](repeating: 0, count: $0.value.count) }

        func lossValue(_ xs: [Tensor]) -> Double {
            let t = Tape(recording: false, options: options)
            let o = build(t, xs.map { t.constant($0) }).value.scalars
            let rs = r.scalars
            var s = 0.0
            for i in 0..<o.count { s += Double(o[i]) * Double(rs[i]) }
            return s
        }

        var mismatches: [Mismatch] = []
        for (k, x) in inputs.enumerated() {
            let base = x.contiguous().scalars
            for i in 0..<base.count {
                var plus = inputs.map { $0.copy() }, minus = inputs.map { $0.copy() }
                var p = base, m = base
                p[i] += eps; m[i] -= eps
                plus[k] = Tensor(shape: x.shape, scalars: p)
                minus[k] = Tensor(shape: x.shape, scalars: m)
                let numeric = (lossValue(plus) - lossValue(minus)) / (2 * Double(eps))
                let a = Double(analytic[k][i])
                if abs(a - numeric) > atol + rtol * abs(numeric) {
                    mismatches.append(Mismatch(input: k, index: i, analytic: a, numeric: numeric))
                }
            }
        }
        return mismatches
    }

    /// Bit patterns, for exact comparisons that also distinguish -0 and NaN payloads.
    public static func bits(_ t: Tensor) -> [UInt32] { t.scalars.map(\.bitPattern) }
}
