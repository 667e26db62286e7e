import Foundation

/// A snapshot of an embedding store's counters, for the run log and `summary.json`.
public struct EmbeddingStoreStatistics: Sendable, Equatable {
    /// Records held (dynamic rows, plus the fixed rows a fixed, adaptive or multihash store holds).
    public let rows: Int
    /// Keys the storage found in memory, and keys it had to fetch or did not hold.
    public let hits: Int, misses: Int
    /// Rows created by admission, and rows evicted.
    public let admissions: Int, evictions: Int
    /// Training lookups of ids without a row, which read the zero vector.
    public let zeroLookups: Int
    /// Keys the admission filter is counting (CBF: counters in use).
    public let trackedKeys: Int
    /// Bytes in memory: the storage's resident records plus the filter.
    public let residentBytes: Int

    /// `Embedding_store rows 1234, hits ..., ...`: the line printed with each evaluation.
    public var line: String {
        "Embedding_store rows \(rows), admissions \(admissions), evictions \(evictions), hits \(hits), misses \(misses), "
            + "zero_lookups \(zeroLookups), filter_keys \(trackedKeys), memory \(String(format: "%.1f", Double(residentBytes) / 1_048_576)) MiB"
    }

    /// The same as a JSON object.
    public var record: [String: Any] {
        ["rows": rows, "hits": hits, "misses": misses, "admissions": admissions, "evictions": evictions,
         "zero_lookups": zeroLookups, "filter_keys": trackedKeys, "resident_bytes": residentBytes]
    }
}
