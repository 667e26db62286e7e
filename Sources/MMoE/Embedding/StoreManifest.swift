import Foundation

/// What a persistent embedding-store directory holds, written as `store.json` when the directory
/// is first used and checked by every later run, so that rows trained for one configuration are
/// never read as another's: a store of 16-wide Adagrad rows must not resume a run of 8-wide Adam
/// rows, and a hashed table's row k means nothing to a run whose fields are laid out differently.
///
/// Compared: the backend (the file formats of `cached_ssd` and `cached_host_mem` differ), the store
/// kind, the embedding width and the optimizer (together they fix the record layout), the
/// fields' rows (which fused-table row a hashed id reads), the dataset (what the raw keys hash)
/// and the admission filter (its saved counts). Not compared: the seed (it only draws rows that
/// do not exist yet) and the eviction rule (it keeps no state).
public struct StoreManifest: Codable, Equatable, Sendable {
    /// The manifest's own format name, so a later layout can be told apart.
    public var format = StoreManifest.currentFormat
    /// Drawn when the store is created, kept by copies of its directory: checkpoints name the
    /// store they refer to by it (with the commit's generation and step).
    public var id: String
    /// `file` (`FileRowStorage`, cached_ssd) or `journal` (`JournaledRowStorage`).
    public var backend: String
    /// The store kind (`EmbeddingStoreKind`'s raw value).
    public var kind: String
    /// The embedding width D.
    public var dim: Int
    /// The optimizer whose per-row state the records hold.
    public var optimizer: String
    /// Floats per record: the row, its optimizer state and bookkeeping.
    public var recordWidth: Int
    /// Rows of each field of the hashed table, in field order.
    public var fieldRows: [Int]
    /// The data set whose values the keys hash (`census`, `taobao`).
    public var dataset: String
    /// `none`, `counter:N`, `cbf:N:max_elements:false_positive`.
    public var filter: String
    /// nil: the whole table (one process, or a replica per rank); `key R of N`: rank R's shard of
    /// a table sharded by key over N ranks (`--embedding_sharding key`), which holds only its keys.
    public var sharding: String? = nil

    /// The manifest's file name in the persistent directory.
    public static let fileName = "store.json"
    /// The format this build writes and reads.
    public static let currentFormat = "mmoe-embedding-store-1"

    public init(backend: String, kind: EmbeddingStoreKind, dim: Int, optimizer: OptimizerKind, recordWidth: Int, fieldRows: [Int],
                dataset: String, filter: String) {
        self.backend = backend
        self.kind = kind.rawValue
        self.dim = dim
        self.optimizer = optimizer.rawValue
        self.recordWidth = recordWidth
        self.fieldRows = fieldRows
        self.dataset = dataset
        self.filter = filter
        id = UUID().uuidString
    }

    /// Makes `directory` this manifest's store: a directory that does not exist or is empty gets
    /// `store.json` (written atomically); one that holds a `store.json` must match it field by
    /// field (but `id`); anything else is refused. Errors name the directory and the first
    /// difference. Returns the manifest in force (the stored one, with its id).
    @discardableResult
    public func claim(_ directory: String, flag: String) throws(EmbeddingStoreError) -> StoreManifest {
        let path = (directory as NSString).appendingPathComponent(Self.fileName)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { !$0.hasPrefix(".") }
        guard names.contains(Self.fileName) else {
            if !names.isEmpty {
                throw EmbeddingStoreError("\(flag) \(directory): the directory is not empty and holds no \(Self.fileName), so it is not an "
                                          + "embedding store this program wrote; give an empty or new directory")
            }
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                try AtomicFile.write(try encoder.encode(self), as: Self.fileName, in: directory)
            } catch {
                throw EmbeddingStoreError("\(flag) \(directory): cannot write \(Self.fileName): \(error)")
            }
            return self
        }
        let stored: StoreManifest
        do { stored = try JSONDecoder().decode(StoreManifest.self, from: Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw EmbeddingStoreError("\(path): not a readable embedding-store manifest (\(error))")
        }
        guard stored.format == format else {
            throw EmbeddingStoreError("\(path): embedding-store format \(stored.format); this build reads \(format)")
        }
        let fields: [(String, String, String)] = [
            ("store type", stored.backend == "file" ? "cached_ssd" : "cached_host_mem", backend == "file" ? "cached_ssd" : "cached_host_mem"),
            ("table kind", stored.kind, kind), ("embedding width (--embedding_vec_size)", "\(stored.dim)", "\(dim)"),
            ("optimizer", stored.optimizer, optimizer), ("record width", "\(stored.recordWidth)", "\(recordWidth)"),
            ("dataset", stored.dataset, dataset), ("rows per field", "\(stored.fieldRows)", "\(fieldRows)"),
            ("admission filter", stored.filter, filter),
            ("embedding sharding", stored.sharding ?? "none (the whole table)", sharding ?? "none (the whole table)"),
        ]
        if let (what, old, new) = fields.first(where: { $0.1 != $0.2 }) {
            throw EmbeddingStoreError("\(flag) \(directory): holds an embedding store of another configuration (\(what) \(old); this run: \(new)); "
                                      + "give the flags it was made with, another directory, or delete it to start over")
        }
        return stored
    }
}
