/// Where an embedding store keeps its rows: a map from a 64-bit key to a record of `width` Floats
/// (the row's values, then its optimizer state, then whatever bookkeeping the store packs in), and
/// nothing more. Which keys exist, when a key is admitted or evicted and how a new row starts are
/// decided above this layer, in the embedding store, so every backend (all in memory, or a file
/// with a bounded cache) trains to bit-identical results.
///
/// Records are copied in and out; a backend never hands out a pointer into its memory, so a
/// file-backed one is free to evict a cached record the moment a call returns.
public protocol RowStorage: AnyObject {
    /// Floats per record.
    var width: Int { get }
    /// Records held (in memory and on disk together).
    var count: Int { get }

    /// For each `keys[i]` that is held: copies its record into `records[i*width ..< (i+1)*width]`
    /// and sets `found[i] = true`. Entries of absent keys are left as they were. `records` must hold
    /// `keys.count * width` Floats and `found` `keys.count` entries.
    func read(_ keys: [UInt64], into records: inout [Float], found: inout [Bool]) throws(RowStorageError)

    /// Inserts or overwrites the record of each key; `records` is laid out as in `read`. A key
    /// must not appear twice in one call.
    func write(_ keys: [UInt64], _ records: [Float]) throws(RowStorageError)

    /// Drops the records of `keys`; absent keys are ignored.
    func remove(_ keys: [UInt64]) throws(RowStorageError)

    /// Calls `body` with every record, in chunks of at most `chunk` keys (and their records laid out
    /// as in `read`), in an unspecified but repeatable order: for eviction scans and full saves. The
    /// storage must not be changed from inside `body`.
    func scan(chunk: Int, _ body: (_ keys: [UInt64], _ records: [Float]) throws -> Void) throws

    /// Bytes of records held in memory now (for a file-backed backend: its cache, not the file).
    var residentBytes: Int { get }
    /// Keys found in memory, and keys that had to be fetched from backing storage (or were absent),
    /// since the backend was created.
    var hits: Int { get }
    var misses: Int { get }
}

/// A backend failure (an I/O error, a corrupt file); the message names the file.
public struct RowStorageError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
