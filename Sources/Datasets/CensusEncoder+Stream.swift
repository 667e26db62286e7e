extension CensusEncoder {
    /// Encodes raw Census rows from `input` (a file or a stream such as standard input) exactly as
    /// `encode(path:)` does, handing `body` chunks of the rows of at most `chunkRows` lines (never an
    /// empty chunk) in input order; memory is bounded by the chunk. The lines of a chunk are
    /// encoded on all threads (`Parallel.threads`), with the same result as one thread. `body`
    /// returns false to stop early; an error it throws stops the read and is rethrown unchanged.
    /// Reader errors are `DatasetError`s naming the input (`input.name`), the line and the field.
    /// `keepKeys`: the rows also keep each value's raw key (`TabularData.keys`), as `encode(path:)` can.
    public func encode(_ input: DataInput, chunkRows: Int = 8192, keepKeys: Bool = false, _ body: (TabularData) throws -> Bool) throws {
        precondition(chunkRows > 0, "CensusEncoder.encode: chunkRows must be positive, got \(chunkRows)")
        let reader = try input.open()
        let path = reader.path
        try scanCarryingErrors(body) { deliver throws(DatasetError) in
            try reader.forEachLineBlock(count: chunkRows) { block throws(DatasetError) in
                guard let rows = try encodeInParallel(block, path: path, { CensusLineEncoding(self, reserveRows: chunkRows, keepKeys: keepKeys) }) else { return true }
                return deliver(rows)
            }
        }
    }

    /// `encode(path:)`'s serial read: chunks of at most `chunkRows` rows, at most `maxRows` rows.
    func scan(reader: ChunkReader, chunkRows: Int, maxRows: Int?, keepKeys: Bool = false, _ deliver: (TabularData) -> Bool) throws(DatasetError) {
        precondition(chunkRows > 0, "CensusEncoder.encode: chunkRows must be positive, got \(chunkRows)")
        let path = reader.path
        var chunk = CensusChunk(reserveRows: min(chunkRows, 8192), group: group, keepKeys: keepKeys)
        var stopped = false
        _ = try CensusLine.forEachRow(reader: reader, maxRows: maxRows) { line, bytes, number throws(DatasetError) in
            try chunk.append(line, bytes, encoder: self, path: path, number: number)
            if chunk.count == chunkRows, !deliver(chunk.take()) {
                stopped = true
                return false
            }
            return true
        }
        if !stopped, chunk.count > 0 { _ = deliver(chunk.take()) }
    }
}

/// One thread's share of `CensusEncoder.encode(_:chunkRows:_:)`: its own line and chunk.
struct CensusLineEncoding: LineEncoding {
    let encoder: CensusEncoder
    var line = CensusLine()
    var chunk: CensusChunk

    init(_ encoder: CensusEncoder, reserveRows: Int, keepKeys: Bool = false) {
        self.encoder = encoder
        chunk = CensusChunk(reserveRows: min(reserveRows, 8192), group: encoder.group, keepKeys: keepKeys)
    }

    var count: Int { chunk.count }

    mutating func encode(_ bytes: [UInt8], _ range: Range<Int>, number: Int, path: String) throws(DatasetError) -> Bool {
        guard try line.parse(bytes, range, path: path, number: number) else { return false }
        try chunk.append(line, bytes, encoder: encoder, path: path, number: number)
        return true
    }

    mutating func take() -> TabularData { chunk.take() }
}

/// Encoded Census rows collecting until the reader hands them out as one `TabularData`.
struct CensusChunk {
    static let denseCount = CensusIncome.denseNames.count
    /// Which labels the rows carry, and so which sparse fields (education is a field only when it is not a label).
    let group: CensusTaskGroup
    private let columns: [Int]
    private var fieldCount: Int { columns.count }

    private(set) var count = 0
    private var dense: [Float] = []
    private var ids: [Int32] = []
    private var labels: [Float] = []
    /// Parallel to `ids` when the rows keep their raw keys (`keepKeys`), else empty.
    private var keys: [UInt64] = []
    private let keepKeys: Bool
    /// Rows reserved for after each `take()`, so a chunk's arrays grow once.
    private let reserveRows: Int

    init(reserveRows: Int, group: CensusTaskGroup, keepKeys: Bool = false) {
        self.reserveRows = reserveRows
        self.keepKeys = keepKeys
        self.group = group
        columns = CensusLine.sparseColumns(group)
        reserve()
    }

    private mutating func reserve() {
        dense.reserveCapacity(reserveRows * Self.denseCount)
        ids.reserveCapacity(reserveRows * fieldCount)
        labels.reserveCapacity(reserveRows * group.taskNames.count)
    }

    /// Encodes one split line with `encoder`: values never seen in training go to their field's
    /// unknown row, dense values are scaled with the training range. On an error the chunk is left
    /// part-way through the row; the reader stops there, so it is never handed out.
    mutating func append(_ line: CensusLine, _ bytes: [UInt8], encoder: CensusEncoder, path: String, number: Int) throws(DatasetError) {
        let (first, marital) = try line.labels(group, bytes, path: path, number: number)
        for d in 0 ..< Self.denseCount {
            dense.append(encoder.scale(try line.rawDense(d, bytes, path: path, number: number), dense: d))
        }
        for f in 0 ..< fieldCount {
            let r = line.range(columns[f])
            ids.append(try encoder.row(field: f, bytes, r, file: path, line: number))
            if keepKeys { keys.append(FieldHash.key(field: f, bytes, r)) }
        }
        labels.append(first)
        labels.append(marital)
        count += 1
    }

    /// The rows so far as a `TabularData`, leaving the chunk empty for the next rows.
    mutating func take() -> TabularData {
        let data = TabularData(count: count, denseWidth: Self.denseCount, dense: dense, fieldCount: fieldCount, ids: ids,
                               taskNames: group.taskNames, labels: labels, keys: keepKeys ? keys : nil)
        count = 0
        dense = []
        ids = []
        labels = []
        keys = []
        reserve()
        return data
    }
}
