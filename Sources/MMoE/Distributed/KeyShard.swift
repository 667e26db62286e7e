/// Which rank owns an embedding key when a table is sharded by key across ranks
/// (`--embedding_sharding key`, OneEmbedding's design): rank `owner(key)` = SplitMix64's finaliser
/// of `key ^ KeyShard.salt`, modulo the rank count. The finaliser spreads the small consecutive
/// keys of a hashed table as evenly as random 64-bit ones; the salt keeps the owner independent of
/// the counting Bloom filter's positions (the same finaliser of the unsalted key), so every rank's
/// filter uses all of its counters.
public struct KeyShard: Sendable, Equatable {
    /// This rank, 0 ..< `count`.
    public let rank: Int
    /// The number of ranks the keys are spread over.
    public let count: Int

    static let salt: UInt64 = 0xD6E8_FEB8_6659_FD93

    public init(rank: Int, count: Int) {
        precondition(count >= 1 && rank >= 0 && rank < count, "KeyShard: rank \(rank) of \(count)")
        self.rank = rank
        self.count = count
    }

    /// The rank that owns `key`.
    @inline(__always) public func owner(_ key: UInt64) -> Int {
        Int(CountingBloomFilter.mix(key ^ Self.salt) % UInt64(count))
    }

    /// Whether this rank owns `key`.
    @inline(__always) public func owns(_ key: UInt64) -> Bool { owner(key) == rank }
}
