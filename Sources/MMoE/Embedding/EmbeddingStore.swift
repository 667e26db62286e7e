import Tensor

/// A store failure that is not the backend's: a row the store must hold is missing, data without
/// the raw keys a dynamic table needs, a checkpoint state that does not fit.
public struct EmbeddingStoreError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// How a store turns the ids of a batch into rows of its `RowStorage`.
public enum EmbeddingStoreKind: String, Sendable, CaseIterable {
    /// The hashed fixed table (today's default, over a `RowStorage`): key = fused-table row; every
    /// row is created up front with exactly the values the model's own table would start with, so
    /// it trains bit-identically to the in-model table. `mmoe-train` holds the hashed table so when
    /// its rows are persisted (`--store_type cached_ssd`, `cached_host_mem` with
    /// `--persistent_path`, `--incremental_ckpt`).
    case fixed
    /// DeepRec's EmbeddingVariable (`--ev`): key = the raw 64-bit key of the value (`FieldHash`,
    /// before the bucket), so ids never collide; a row is created when its id is admitted.
    case dynamic
    /// DeepRec's adaptive embedding (`--adaptive_emb`): admitted (frequent) ids own dynamic rows;
    /// the others share the hashed fixed rows of their bucket, which train as usual.
    case adaptive
    /// Quotient-remainder compositional embedding (`--multihash`): two small tables per field.
    case multihash
}

/// When rows leave the store (DeepRec's feature elimination).
public enum EvictionRule: Sendable, Equatable {
    /// `gstep` (DeepRec's `GlobalStepEvict(steps_to_live)`): rows whose last update is at least
    /// this many global steps old.
    case globalSteps(Int)
    /// `l2` (DeepRec's `L2WeightEvict(l2_weight_threshold)`): rows whose values' L2 norm is below this.
    case l2Norm(Float)
}

/// A store's policies; see `EmbeddingStore`.
public struct EmbeddingStoreSettings: Sendable {
    public var kind: EmbeddingStoreKind
    /// Seeds the initial values of dynamic rows (each row from `seed ^ key`, so a row's start does
    /// not depend on the order ids arrive in or on the backend).
    public var seed: UInt64
    public var eviction: EvictionRule?
    /// Eviction runs after the update of every step whose global step is a multiple of this.
    public var evictionInterval = 100
    /// Whether `init` writes the rows a fixed, adaptive or multihash store starts with. false: the
    /// storage already holds them (a store reopened from its persisted rows, or about to be
    /// restored from a snapshot), and writing them again would overwrite the trained values.
    public var createsInitialRows = true
    /// This rank's share of the keys when the table is sharded by key across ranks
    /// (`--embedding_sharding key`): the store holds, creates and admits only the keys it owns.
    /// nil: every key (one process, or a replicated table).
    public var keyShard: KeyShard?

    public init(kind: EmbeddingStoreKind, seed: UInt64, eviction: EvictionRule? = nil, evictionInterval: Int = 100) {
        self.kind = kind
        self.seed = seed
        self.eviction = eviction
        self.evictionInterval = evictionInterval
    }
}

/// Makes the backend for records of `width` Floats (`MemoryRowStorage.init(width:)`, or a
/// file-backed one).
public typealias RowStorageFactory = (_ width: Int) throws -> RowStorage

/// The embedding rows of a model kept outside it, in a `RowStorage`, with DeepRec's and OneFlow's
/// policies on top: which key an id reads, when an id is admitted, how a new row starts, when a
/// row is evicted. Every policy lives here, above the storage, so every backend trains alike.
///
/// One training step: `pull` the rows of the step's batches into a compact working table `[U, D]`
/// (with their optimizer state) and get the batches back with their ids renumbered into it; run
/// forward and backward on that table; after the optimizer's dense step, `update` applies the
/// sparse step to the working rows and writes them back. Evaluation pulls without creating or
/// counting anything.
///
/// Ids that have no row (not admitted yet in training, never admitted in evaluation) read the
/// working table's zero row: a zero vector that still counts in its bag's mean, as DeepRec's
/// default value for filtered ids (0) does, and whose gradient is dropped.
public final class EmbeddingStore {
    public let settings: EmbeddingStoreSettings
    public var kind: EmbeddingStoreKind { settings.kind }
    public let layout: RowLayout
    /// The rows: for checkpoints, snapshots and statistics. Write to it only through the store
    /// (or to restore a snapshot before training resumes).
    public let storage: RowStorage
    /// nil: every id is admitted on first sight (dynamic), or no admission at all (fixed, multihash).
    public let filter: AdmissionFilter?
    public internal(set) var rowOptimizer: RowOptimizer
    /// F and the fused table's layout, to find an id's field and bucket.
    let fieldOffsets: [Int], fieldRows: [Int]
    /// Multihash: each field's remainder table (first key and rows m) and quotient table (first key).
    let multihash: [(remainder: Int, m: Int, quotient: Int)]

    /// Rows created by admission (not counting rows created up front).
    public internal(set) var admissions = 0
    public internal(set) var evictions = 0
    /// Training lookups that read the zero row (ids not admitted).
    public internal(set) var zeroLookups = 0

    /// Adaptive stores keep the shared hashed rows under `sharedTag | row` and dynamic rows under
    /// their raw key with the top bit cleared, so the two kinds never meet in one storage.
    static let sharedTag: UInt64 = 1 << 63

    /// Builds the store for `model` (built with `embeddingTable: false`) and the optimizer `kind`,
    /// making its storage with `makeStorage` and filling it with the rows a fixed, adaptive or
    /// multihash store holds from the start. `filter` only for dynamic and adaptive stores (adaptive
    /// requires one: it decides which ids are frequent).
    public init(model: MMoEModel, optimizer: OptimizerKind, settings: EmbeddingStoreSettings, filter: AdmissionFilter? = nil,
                makeStorage: RowStorageFactory) throws {
        let c = model.config
        guard c.fieldCount > 0 else { throw EmbeddingStoreError("an embedding store needs sparse fields; this model has none") }
        precondition(model.embedding == nil, "EmbeddingStore: build the model with embeddingTable: false, so its table is not held twice")
        precondition(settings.evictionInterval >= 1, "EmbeddingStore: evictionInterval must be at least 1")
        switch settings.kind {
        case .fixed, .multihash:
            if filter != nil || settings.eviction != nil {
                throw EmbeddingStoreError("admission filters and eviction apply to dynamic rows (--ev or --adaptive_emb), not to a \(settings.kind.rawValue) table")
            }
        case .adaptive:
            if filter == nil { throw EmbeddingStoreError("an adaptive store needs an admission filter: it is what tells frequent ids from rare ones") }
        case .dynamic: break
        }
        if settings.kind == .adaptive, let shard = settings.keyShard, shard.count > 1 {
            throw EmbeddingStoreError("--adaptive_emb cannot be sharded by key yet (a rare id reads its bucket's shared row, which another rank may own); "
                                      + "use --embedding_sharding replicated")
        }
        self.settings = settings
        self.filter = filter
        rowOptimizer = RowOptimizer(kind: optimizer, dim: c.embeddingDim)
        layout = RowLayout(dim: c.embeddingDim, stateWidth: rowOptimizer.stateWidth)
        storage = try makeStorage(layout.width)
        precondition(storage.width == layout.width, "EmbeddingStore: the storage has width \(storage.width), records need \(layout.width)")
        var offsets: [Int] = [], next = 0
        for r in c.fieldRows { offsets.append(next); next += r }
        fieldOffsets = offsets
        fieldRows = c.fieldRows
        var tables: [(remainder: Int, m: Int, quotient: Int)] = [], key = 0
        if settings.kind == .multihash {
            for n in c.fieldRows {
                let m = Self.remainderRows(n)
                tables.append((key, m, key + m))
                key += m + (n + m - 1) / m
            }
        }
        multihash = tables

        var rng = model.embeddingRNG
        guard settings.createsInitialRows else { return }
        switch settings.kind {
        case .fixed:
            // The values the model's own table would get, drawn in the same order.
            try createRows(count: next, key: { UInt64($0) }) { _ in 1e-4 * rng.nextNormal() }
        case .adaptive:
            try createRows(count: next, key: { Self.sharedTag | UInt64($0) }) { _ in 1e-4 * rng.nextNormal() }
        case .multihash:
            // A product of two N(0, σ²) factors has standard deviation σ², so σ = 1e-2 gives the
            // products the usual initialiser's scale, 1e-4.
            try createRows(count: key, key: { UInt64($0) }) { _ in 1e-2 * rng.nextNormal() }
        case .dynamic:
            break
        }
    }

    /// m = ceil(sqrt(n)) remainder rows for a field of n buckets (and ceil(n / m) quotient rows),
    /// so every bucket gets its own (remainder, quotient) pair.
    static func remainderRows(_ n: Int) -> Int {
        var m = max(1, Int(Double(n).squareRoot()))
        while m * m < n { m += 1 }
        return m
    }

    /// Writes `count` fresh records, row r under `key(r)`, its D values drawn by `value` in row-major
    /// order, in chunks so the full table is never held in memory twice.
    private func createRows(count: Int, key: (Int) -> UInt64, value: (Int) -> Float) throws {
        let chunk = 4096, w = layout.width, d = layout.dim
        let state = rowOptimizer.initialState
        var start = 0
        while start < count {
            let n = min(chunk, count - start)
            var records = [Float](repeating: 0, count: n * w)
            for i in 0..<n {
                for j in 0..<d { records[i * w + j] = value(j) }
                for (j, s) in state.enumerated() { records[i * w + d + j] = s }
            }
            if let shard = settings.keyShard, shard.count > 1 {
                // Every row's values are drawn (the same stream as one process), only the owned ones kept.
                let owned = (0..<n).filter { shard.owns(key(start + $0)) }
                var mine = [Float](); mine.reserveCapacity(owned.count * w)
                for i in owned { mine += records[(i * w)..<((i + 1) * w)] }
                try storage.write(owned.map { key(start + $0) }, mine)
            } else {
                try storage.write((start..<(start + n)).map(key), records)
            }
            start += n
        }
    }

    /// The initial values of the dynamic row of `key`: D draws of N(0, 1e-4²) from the embedding-rows stream's seed XOR `key`.
    func initialValues(_ key: UInt64) -> [Float] {
        var rng = SeededRNG(seed: SeededRNG.streamSeed(settings.seed, .embeddingRows) ^ key)
        return (0..<layout.dim).map { _ in 1e-4 * rng.nextNormal() }
    }

    /// Rows held, hits and misses of the storage, admissions, evictions, memory.
    public var statistics: EmbeddingStoreStatistics {
        EmbeddingStoreStatistics(rows: storage.count, hits: storage.hits, misses: storage.misses, admissions: admissions,
                                 evictions: evictions, zeroLookups: zeroLookups, trackedKeys: filter?.trackedCount ?? 0,
                                 residentBytes: storage.residentBytes + (filter?.residentBytes ?? 0))
    }
}
