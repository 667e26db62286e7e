import Tensor

/// The embedding rows an exported graph holds: the model's own fused table, or the rows of the
/// embedding store a model was trained with.
///
/// - A `fixed` store (`--store_type` without `--ev`) holds every fused-table row under its row
///   number, so it exports as the `[V, d]` table the model would have had, and the graph is the
///   same as an in-model table's.
/// - A `dynamic` store (`--ev`) holds one row per raw 64-bit key (`FieldHash`) seen and admitted in
///   training. It exports as the held rows sorted by key, then one zero row, `[n + 1, d]`, plus the
///   keys: the graph maps each input key to its row with `ai.onnx.ml` `LabelEncoder` (int64 keys,
///   the key's bit pattern), an unknown key to the zero row, as evaluation reads an id without a row.
/// - `adaptive` and `multihash` stores are not exported yet.
public struct ExportedTable: Sendable {
    /// `[rows, dim]`, row-major.
    public var values: [Float]
    public var rows: Int
    public var dim: Int
    /// nil: inputs are fused-table rows. Otherwise the raw key of each row but the last (the zero
    /// row), ascending as unsigned numbers.
    public var keys: [UInt64]?

    public init(values: [Float], rows: Int, dim: Int, keys: [UInt64]? = nil) {
        precondition(values.count == rows * dim, "ExportedTable: \(values.count) values for \(rows) x \(dim)")
        self.values = values
        self.rows = rows
        self.dim = dim
        self.keys = keys
    }

    /// The model's own table.
    public init(_ table: EmbeddingTable) {
        self.init(values: table.value.scalars, rows: table.rows, dim: table.dim)
    }

    /// The rows of `store`, for a model whose fused table has `config.fieldRows` rows.
    public init(_ store: EmbeddingStore, config: MMoEConfig) throws(ONNXExportError) {
        let d = store.layout.dim, w = store.layout.width
        var keys: [UInt64] = [], values: [Float] = []
        do {
            try store.storage.scan(chunk: 4096) { chunkKeys, records in
                for (i, key) in chunkKeys.enumerated() {
                    keys.append(key)
                    values.append(contentsOf: records[(i * w)..<(i * w + d)])
                }
            }
        } catch { throw ONNXExportError("reading the embedding store's rows failed: \(error)") }
        switch store.kind {
        case .fixed:
            let v = config.fieldRows.reduce(0, +)
            var table = [Float](repeating: 0, count: v * d), seen = [Bool](repeating: false, count: v)
            for (i, key) in keys.enumerated() {
                guard key < UInt64(v) else { throw ONNXExportError("the fixed embedding store holds row \(key), outside the table's \(v) rows") }
                seen[Int(key)] = true
                for j in 0..<d { table[Int(key) * d + j] = values[i * d + j] }
            }
            if let missing = seen.firstIndex(of: false) {
                throw ONNXExportError("the fixed embedding store has no row \(missing); it should hold all \(v)")
            }
            self.init(values: table, rows: v, dim: d)
        case .dynamic:
            let order = keys.indices.sorted { keys[$0] < keys[$1] }
            var table: [Float] = []
            table.reserveCapacity((keys.count + 1) * d)
            for i in order { table += values[(i * d)..<((i + 1) * d)] }
            table += [Float](repeating: 0, count: d)
            self.init(values: table, rows: keys.count + 1, dim: d, keys: order.map { keys[$0] })
        case .adaptive, .multihash:
            throw ONNXExportError("export of models with a \(store.kind.rawValue) embedding store (--\(store.kind == .adaptive ? "adaptive_emb" : "multihash")) "
                                  + "is not supported yet; fixed (--store_type) and dynamic (--ev) stores are")
        }
    }
}
