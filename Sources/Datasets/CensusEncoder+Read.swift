/// Reading raw Census files: the schema reader with the built-in Census schema
/// (`CensusTaskGroup.schema`), which gives the rows the former line parser gave, bit for bit
/// (`CensusSchemaTests` hold it to that parser, kept in the tests), at 1.4x its rate fitting and 2x
/// encoding (`mmoe-bench csv --builtin`).
extension CensusEncoder {
    /// Reads a raw Census file (the training split) and fits the encoder on it: vocabularies in
    /// first-seen order, dense ranges; then encodes the same rows (with their raw keys when `keepKeys`).
    /// `group` picks the labels and, through them, the sparse fields. `maxRows`: the first rows only.
    static func fit(path: String, capacities: [Int], maxRows: Int?, group: CensusTaskGroup = .incomeMarital,
                    keepKeys: Bool = false) throws(DatasetError)
        -> (encoder: CensusEncoder, data: TabularData, warnings: [String]) {
        let limit = maxRows.map { max(0, $0) }
        let scan = limit == 0 ? nil : try SchemaScan(schema: group.schema(tableSizes: capacities), paths: [path], keepRows: true,
                                                      keepKeys: keepKeys, maxRows: limit)
        guard let scan, scan.rows > 0, let data = scan.data else {
            throw DatasetError(file: path, "no rows: the training file is empty" + (limit == 0 ? " (or the row limit is \(maxRows!))" : ""))
        }
        let encoder = try CensusEncoder(fitted: scan.schema, capacities: capacities, group: group, file: path)
        var warnings: [String] = []
        for (f, field) in encoder.fields.enumerated() where field.count > capacities[f] {
            warnings.append("table_size_array: field \(group.sparseNames[f]) has \(field.count) distinct values, more than its capacity \(capacities[f]); the table grows to \(field.count)")
        }
        return (encoder, data, warnings)
    }

    /// Encodes a raw Census file (a test split, or any later data) exactly as the training split was:
    /// values never seen in training go to their field's unknown row and dense values are clipped to
    /// [0, 1]. `maxRows` keeps only the first rows (nil: all). `keepKeys`: also each value's raw
    /// key (`TabularData.keys`), for dynamic embedding tables; unknown values keep theirs too.
    public func encode(path: String, maxRows: Int? = nil, keepKeys: Bool = false) throws(DatasetError) -> TabularData {
        var parts: [TabularData] = []
        try SchemaReader(schema: dataSchema, keepKeys: keepKeys).scan(try ChunkReader(path: path), firstNumber: 1, layout: nil, chunkRows: 65536,
                                                                     maxRows: maxRows, onBlock: nil) { parts.append($0); return true }
        return TabularData.concatenating(parts)
            ?? TabularData(count: 0, denseWidth: CensusIncome.denseNames.count, dense: [], fieldCount: group.sparseNames.count, ids: [],
                           taskNames: group.taskNames, labels: [], keys: keepKeys ? [] : nil)
    }

    /// Encodes raw Census rows from `input` (a file or a stream such as standard input) exactly as
    /// `encode(path:)` does, handing `body` chunks of the rows of at most `chunkRows` lines (never an
    /// empty chunk) in input order; memory is bounded by the chunk. The lines of a chunk are
    /// encoded on all threads (`Parallel.threads`), with the same result as one thread. `body`
    /// returns false to stop early; an error it throws stops the read and is rethrown unchanged.
    /// Reader errors are `DatasetError`s naming the input (`input.name`), the line and the field.
    public func encode(_ input: DataInput, chunkRows: Int = 8192, keepKeys: Bool = false, _ body: (TabularData) throws -> Bool) throws {
        precondition(chunkRows > 0, "CensusEncoder.encode: chunkRows must be positive, got \(chunkRows)")
        try SchemaReader(schema: dataSchema, keepKeys: keepKeys).read(input, chunkRows: chunkRows, body)
    }
}
