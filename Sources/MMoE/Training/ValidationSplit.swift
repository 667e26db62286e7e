import Tensor
import Datasets

/// `--valid_fraction F`: which training rows are held out as the validation set. A row is held
/// out when a seeded 64-bit hash of its features (the bit patterns of its dense values, then its
/// sparse ids field by field with each bag's length) falls in the lowest fraction F of the range.
/// The decision depends on the row alone, not on its position, so the same rule splits rows in
/// memory and rows streamed slice by slice from a file (Taobao) without a shuffle or an index;
/// rows with the same features always land on the same side (a duplicate cannot leak from
/// training into validation); the held-out share is F up to sampling noise (binomial).
public struct ValidationSplit: Sendable, Equatable {
    public let fraction: Double
    public let seed: UInt64

    public init(fraction: Double, seed: UInt64) {
        precondition(fraction > 0 && fraction < 1, "ValidationSplit: fraction must be in (0, 1), got \(fraction)")
        self.fraction = fraction
        self.seed = seed
    }

    /// The seeded hash of row `r` of `data`'s features.
    public func rowHash(_ data: TabularData, row r: Int) -> UInt64 {
        // The seed through the finaliser with a constant of its own ("valid"), unrelated to the RNG streams.
        var h = Self.mix(seed ^ 0x76_616c_6964)
        func add(_ word: UInt64) { h = Self.mix(h ^ word) &+ 0x9E37_79B9_7F4A_7C15 }
        for v in data.dense[(r * data.denseWidth)..<((r + 1) * data.denseWidth)] { add(UInt64(v.bitPattern)) }
        for f in 0..<data.fieldCount {
            let ids = data.ids(row: r, field: f)
            if data.bagOffsets != nil { add(UInt64(ids.count) | 1 << 63) }
            for id in ids { add(UInt64(UInt32(bitPattern: id))) }
        }
        return Self.mix(h)
    }

    /// Whether row `r` of `data` belongs to the validation set.
    public func holdsOut(_ data: TabularData, row r: Int) -> Bool {
        Double(rowHash(data, row: r) >> 11) * 0x1p-53 < fraction
    }

    /// `data`'s rows split into training and validation rows, each in their original order.
    public func split(_ data: TabularData) -> (train: TabularData, valid: TabularData) {
        let out = (0..<data.count).map { holdsOut(data, row: $0) }
        return (data.gathering(out.indices.filter { !out[$0] }), data.gathering(out.indices.filter { out[$0] }))
    }

    /// SplitMix64's finaliser.
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
