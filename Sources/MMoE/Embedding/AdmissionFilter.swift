import Foundation

/// DeepRec's feature filters: an id gets a row of its own only once it has been seen `threshold`
/// times in training (its `filter_freq`); until then it reads as a zero vector and gets no row.
/// Occurrences are counted in training lookups only (evaluation neither counts nor admits), each
/// occurrence of an id in a batch counting once.
public protocol AdmissionFilter: AnyObject {
    /// N: occurrences that admit an id.
    var threshold: Int { get }
    /// Adds `occurrences` sightings of `key` (not yet admitted) and says whether it is admitted now,
    /// that is whether its count has reached `threshold`. What happens to the count after admission
    /// (and so after the row is evicted) is the filter's own: see each filter.
    func admit(_ key: UInt64, occurrences: Int) -> Bool
    /// Keys being counted (exact for the counter filter; for the CBF, counters in use).
    var trackedCount: Int { get }
    /// Bytes the filter holds in memory.
    var residentBytes: Int { get }
    /// Everything the filter knows, as named arrays of UInt64, for checkpoints; `restore` takes it back.
    func checkpointState() -> [String: [UInt64]]
    func restore(_ state: [String: [UInt64]]) throws(EmbeddingStoreError)
}

/// `--ev_filter counter` (DeepRec's `CounterFilter`): an exact count per key not yet admitted.
/// Memory grows with the distinct ids seen and not admitted. An admitted key is forgotten, so if
/// its row is evicted later it must be seen `threshold` times again.
public final class CounterFilter: AdmissionFilter {
    /// Sightings after which a key is admitted (`--ev_filter_freq`).
    public let threshold: Int
    private var counts: [UInt64: UInt32] = [:]

    /// A filter admitting a key at its `threshold`-th sighting.
    public init(threshold: Int) {
        precondition(threshold >= 1, "CounterFilter: threshold must be at least 1, got \(threshold)")
        self.threshold = threshold
    }

    public func admit(_ key: UInt64, occurrences: Int) -> Bool {
        let seen = Int(counts[key] ?? 0) + occurrences
        if seen >= threshold {
            counts.removeValue(forKey: key)
            return true
        }
        counts[key] = UInt32(seen)
        return false
    }

    /// The count of `key` so far (0 once admitted); for tests.
    public func count(of key: UInt64) -> Int { Int(counts[key] ?? 0) }

    public var trackedCount: Int { counts.count }
    /// A dictionary entry of a UInt64 key and a UInt32 count, with the hash table's slack.
    public var residentBytes: Int { counts.capacity * 16 }

    public func checkpointState() -> [String: [UInt64]] {
        let sorted = counts.sorted { $0.key < $1.key }
        return ["counter.keys": sorted.map(\.key), "counter.counts": sorted.map { UInt64($0.value) }]
    }

    public func restore(_ state: [String: [UInt64]]) throws(EmbeddingStoreError) {
        guard let keys = state["counter.keys"], let values = state["counter.counts"], keys.count == values.count else {
            throw EmbeddingStoreError("counter filter state: counter.keys and counter.counts are missing or of different lengths")
        }
        guard values.allSatisfy({ $0 < UInt64(threshold) }) else {
            throw EmbeddingStoreError("counter filter state: a count reaches the threshold \(threshold), so that key should have been admitted")
        }
        counts = Dictionary(uniqueKeysWithValues: zip(keys, values.map { UInt32($0) }))
    }
}

/// `--ev_filter cbf` (DeepRec's `CBFFilter`): the counts live in a counting Bloom filter of fixed
/// size, so memory does not grow with the ids seen. Sized as a Bloom filter for `maxElements` keys
/// at false-positive rate `falsePositiveRate`: m = ceil(-n ln p / (ln 2)^2) counters and
/// k = round(m/n ln 2) hashes (at least 1). A key's count is the least of its k counters, which may
/// overcount (a rare id admitted early) but never undercounts. Counters are 8-bit and saturate at
/// 255, so thresholds above 255 are refused. Counters are never decremented (a decrement could
/// take away another key's counts after a collision), so a key whose row is evicted is admitted
/// again on its next sighting.
public final class CountingBloomFilter: AdmissionFilter {
    /// Sightings after which a key is admitted (`--ev_filter_freq`, at most 255).
    public let threshold: Int
    /// k, the counters each key is spread over.
    public let hashCount: Int
    private var counters: [UInt8]

    public init(threshold: Int, maxElements: Int, falsePositiveRate: Double) throws(EmbeddingStoreError) {
        guard threshold >= 1 && threshold <= 255 else {
            throw EmbeddingStoreError("--ev_filter_freq \(threshold): the counting Bloom filter has 8-bit counters, so the threshold must be in 1...255")
        }
        guard maxElements >= 1 else { throw EmbeddingStoreError("--ev_cbf_max_elements must be positive, got \(maxElements)") }
        guard falsePositiveRate > 0 && falsePositiveRate < 1 else {
            throw EmbeddingStoreError("--ev_cbf_false_positive must be in (0, 1), got \(falsePositiveRate)")
        }
        let ln2 = 0.693_147_180_559_945_3
        let m = Int((-Double(maxElements) * log(falsePositiveRate) / (ln2 * ln2)).rounded(.up))
        guard m <= 1 << 34 else {
            throw EmbeddingStoreError("--ev_cbf_max_elements \(maxElements) at --ev_cbf_false_positive \(falsePositiveRate) needs \(m) counters (over 16 GB); lower one of them")
        }
        self.threshold = threshold
        hashCount = max(1, Int((Double(m) / Double(maxElements) * ln2).rounded()))
        counters = [UInt8](repeating: 0, count: max(1, m))
    }

    /// Counters: m.
    public var size: Int { counters.count }

    /// Positions of `key`'s counters: double hashing over two independent 64-bit mixes.
    @inline(__always) private func position(_ key: UInt64, _ i: Int) -> Int {
        let h1 = Self.mix(key), h2 = Self.mix(key ^ 0x9E37_79B9_7F4A_7C15) | 1
        return Int((h1 &+ UInt64(i) &* h2) % UInt64(counters.count))
    }

    /// SplitMix64's finaliser.
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// The least of `key`'s counters: its count, or more after collisions.
    public func count(of key: UInt64) -> Int {
        var least = Int(UInt8.max)
        for i in 0..<hashCount { least = min(least, Int(counters[position(key, i)])) }
        return least
    }

    public func admit(_ key: UInt64, occurrences: Int) -> Bool {
        let add = min(occurrences, 255)
        for i in 0..<hashCount {
            let p = position(key, i)
            counters[p] = UInt8(min(255, Int(counters[p]) + add))
        }
        let seen = count(of: key)
        return seen >= threshold
    }

    public var trackedCount: Int { counters.reduce(0) { $0 + ($1 > 0 ? 1 : 0) } }
    public var residentBytes: Int { counters.count }

    /// The counters packed eight to a word.
    public func checkpointState() -> [String: [UInt64]] {
        var words = [UInt64](repeating: 0, count: (counters.count + 7) / 8)
        for (i, c) in counters.enumerated() { words[i / 8] |= UInt64(c) << UInt64(8 * (i % 8)) }
        return ["cbf.size": [UInt64(counters.count), UInt64(hashCount)], "cbf.counters": words]
    }

    public func restore(_ state: [String: [UInt64]]) throws(EmbeddingStoreError) {
        guard let size = state["cbf.size"], size == [UInt64(counters.count), UInt64(hashCount)] else {
            throw EmbeddingStoreError("CBF filter state: saved with a different size or hash count (cbf.size \(state["cbf.size"] ?? []), here [\(counters.count), \(hashCount)]); use the same --ev_cbf_max_elements and --ev_cbf_false_positive")
        }
        guard let words = state["cbf.counters"], words.count == (counters.count + 7) / 8 else {
            throw EmbeddingStoreError("CBF filter state: cbf.counters is missing or of the wrong length")
        }
        for i in counters.indices { counters[i] = UInt8(truncatingIfNeeded: words[i / 8] >> UInt64(8 * (i % 8))) }
    }
}
