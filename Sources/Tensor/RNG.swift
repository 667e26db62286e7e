import Foundation

/// A small, fast, seedable generator (xoshiro256**, seeded through SplitMix64). Everything random in
/// the project draws from one of these so a seed reproduces a run bit for bit.
public struct SeededRNG: RandomNumberGenerator, Sendable {
    /// The generator's four state words, saved in checkpoints so a resumed run draws the same numbers.
    public private(set) var state: (UInt64, UInt64, UInt64, UInt64)

    /// A generator whose state is expanded from `seed` by SplitMix64.
    public init(seed: UInt64) {
        var z = seed
        func splitmix() -> UInt64 {
            z &+= 0x9E37_79B9_7F4A_7C15
            var x = z
            x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
            x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
            return x ^ (x >> 31)
        }
        state = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    /// Restores a generator from a saved `state` (for exact resume).
    public init(state: (UInt64, UInt64, UInt64, UInt64)) { self.state = state }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotl(state.3, 45)
        return result
    }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in [0, 1) with 24 bits of precision.
    public mutating func nextUniform() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// Standard normal (Box-Muller in Double, so tails are exact enough for initialisers).
    public mutating func nextNormal() -> Float {
        let u1 = (Double(next() >> 11) + 1) * (1.0 / 9_007_199_254_740_993.0)
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}


/// The consumers of a run's one `--seed`, each given a generator of its own. Before the streams
/// were split every consumer started `SeededRNG(seed:)` from the same seed, so they drew the same
/// numbers: the synthetic data's first inputs were scaled copies of the first expert weights, and
/// seeds did not give independent draws of data and model. Each stream's seed is
/// `SeededRNG.streamSeed(seed, stream)`: the SplitMix64 finaliser of `seed + stream.rawValue * γ`
/// (γ = 0x9E3779B97F4A7C15), a bijection of the seed for each stream, so two streams of one seed
/// (or the same stream of two seeds) start from unrelated states.
public enum RandomStream: UInt64, Sendable, CaseIterable {
    /// Dense weights (and a model-held embedding table).
    case initialisation = 1
    /// Generated data (the built-in synthetic tasks).
    case data = 2
    /// The order of training rows (shuffles, file windows).
    case batchOrder = 3
    /// Dropout masks.
    case dropout = 4
    /// First values of rows an embedding store creates (mixed with the row's key).
    case embeddingRows = 5
}

extension SeededRNG {
    /// The generator of `stream` for a run seeded with `seed`.
    public init(seed: UInt64, stream: RandomStream) {
        self.init(seed: Self.streamSeed(seed, stream))
    }

    /// The seed `stream` starts from (documented on `RandomStream`).
    public static func streamSeed(_ seed: UInt64, _ stream: RandomStream) -> UInt64 {
        var x = seed &+ stream.rawValue &* 0x9E37_79B9_7F4A_7C15
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        return x ^ (x >> 31)
    }
}
