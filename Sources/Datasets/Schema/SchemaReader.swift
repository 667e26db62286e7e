import Foundation
import Tensor

/// Reads delimited text files through a `DataSchema` into `TabularData`: the records of a chunk
/// are encoded on all threads (`Parallel.threads`) with the same result as one thread, in chunks
/// of bounded size, so a file of any size streams. Errors are `DatasetError`s naming the file, the
/// line, the column and the value.
public struct SchemaReader: Sendable {
    /// The schema; its `standardize`/`minmax` transforms must be fitted (`SchemaScan`), except in
    /// the scan's own raw read.
    public let schema: DataSchema
    /// Also keep each id's raw 64-bit key (`TabularData.keys`), for dynamic embedding tables.
    public var keepKeys = false
    /// Whether every task's label column must be in the file (training), or may be absent
    /// (prediction: its labels are then missing, NaN).
    public var labelsRequired = true
    /// Encode records with the fast path where it applies (false: every record with the checked
    /// path, which tests compare it with).
    var fastPath = true
    /// Threads that encode a block's records (nil: `Parallel.threads`). 1 for a reader that runs
    /// beside training (a loader thread), so it does not take the worker pool from the model.
    var encodeThreads: Int?

    public init(schema: DataSchema, keepKeys: Bool = false, labelsRequired: Bool = true) {
        self.schema = schema
        self.keepKeys = keepKeys
        self.labelsRequired = labelsRequired
    }

    /// Streams `input` from its start (its header first, when the schema has one), handing `body`
    /// chunks of at most `chunkRows` rows in input order (never an empty one); `body` returns false
    /// to stop early, and an error it throws is rethrown unchanged. `maxRows`: stop after this many
    /// records.
    public func read(_ input: DataInput, chunkRows: Int = 8192, maxRows: Int? = nil, _ body: (TabularData) throws -> Bool) throws {
        let reader = try input.open()
        try scanCarryingErrors(body) { deliver throws(DatasetError) in
            try scan(reader, firstNumber: 1, layout: nil, chunkRows: chunkRows, maxRows: maxRows, onBlock: nil, deliver)
        }
    }

    /// Reads one slice of a plain file (from `SchemaScan`), whose columns are `layout`; a slice at
    /// the start of the file skips the header. A `.gz` file is read whole (its slice is the file).
    public func read(path: String, slice: FileSlice, layout: SchemaLayout, chunkRows: Int = 8192,
                     _ body: (TabularData) throws -> Bool) throws {
        let reader = path.hasSuffix(".gz") ? try ChunkReader(path: path) : try ChunkReader(path: path, byteRange: slice.bytes)
        try scanCarryingErrors(body) { deliver throws(DatasetError) in
            try scan(reader, firstNumber: slice.firstLine, layout: layout, skipHeader: slice.bytes.lowerBound == 0 || path.hasSuffix(".gz"),
                     chunkRows: chunkRows, maxRows: nil, onBlock: nil, deliver)
        }
    }

    /// The layout of the file at `path`, from its first record.
    public func layout(of path: String) throws(DatasetError) -> SchemaLayout {
        let reader = try ChunkReader(path: path)
        var found: SchemaLayout?
        try reader.forEachRecordBlock(quote: schema.quote, count: 64) { block throws(DatasetError) in
            for i in block.lines.indices where !isBlank(block.bytes, block.lines[i]) {
                found = try makeLayout(block.bytes, block.lines[i], number: block.number(i), path: path)
                return false
            }
            return true
        }
        guard let found else { throw DatasetError(file: path, "the file is empty: no \(schema.header ? "header" : "record")") }
        return found
    }

    /// Reads records from `reader`, numbered from `firstNumber`. `layout` nil: the first non-blank
    /// record gives it (and is skipped when it is the header); given, a header is skipped only with
    /// `skipHeader`. `onBlock` sees each block of records before it is encoded. Blank records
    /// (nothing but spaces, tabs and carriage returns) are dropped and not counted in `maxRows`.
    func scan(_ reader: ChunkReader, firstNumber: Int, layout known: SchemaLayout?, skipHeader: Bool = false, chunkRows: Int, maxRows: Int?,
              onBlock: ((LineBlock) -> Void)?, _ deliver: (TabularData) -> Bool) throws(DatasetError) {
        precondition(chunkRows > 0, "SchemaReader.read: chunkRows must be positive, got \(chunkRows)")
        let path = reader.path
        var plan = known.map(makePlan)
        // Fitted vocabularies and clipped minmax: the kernels' rows, finished here (nil: as encoded).
        let remap = SchemaVocabulary.needed(schema) ? try SchemaVocabulary.Remap(schema: schema, keepKeys: keepKeys, file: path) : nil
        var headerPending = known == nil ? schema.header : skipHeader && schema.header
        var left = max(0, maxRows ?? .max)
        guard left > 0 else { reader.close(); return }
        try reader.forEachRecordBlock(quote: schema.quote, count: chunkRows, firstNumber: firstNumber) { full throws(DatasetError) in
            var block = full
            if plan == nil || headerPending, let first = block.lines.indices.first(where: { !isBlank(block.bytes, block.lines[$0]) }) {
                if plan == nil {
                    let layout = try makeLayout(block.bytes, block.lines[first], number: block.number(first), path: path)
                    plan = makePlan(layout)
                }
                if headerPending {
                    block.lines.removeSubrange(0 ... first)
                    block.numbers!.removeSubrange(0 ... first)
                    headerPending = false
                }
            }
            if block.lines.contains(where: { isBlank(block.bytes, $0) }) {
                let kept = block.lines.indices.filter { !isBlank(block.bytes, block.lines[$0]) }
                // `offset` stays the file offset of the block's first record.
                if let first = kept.first { block.offset += block.lines[first].lowerBound - block.lines[0].lowerBound }
                block.lines = kept.map { block.lines[$0] }
                block.numbers = kept.map { block.numbers![$0] }
            }
            if block.lines.count > left {
                block.lines.removeSubrange(left...)
                block.numbers!.removeSubrange(left...)
            }
            left -= block.lines.count
            guard let plan, !block.lines.isEmpty else { return left > 0 }
            onBlock?(block)
            let threads = encodeThreads ?? Parallel.threads
            if var rows = try encodeInParallel(block, path: path, threads: threads, { SchemaEncoding(plan: plan, reserveRows: block.lines.count / max(1, threads)) }) {
                remap?.apply(&rows)
                if !deliver(rows) { return false }
            }
            return left > 0
        }
    }

    private func makePlan(_ layout: SchemaLayout) -> SchemaEncoding.Plan {
        // A fitted vocabulary is looked up by key, so its read keeps the keys (an unfitted one's
        // raw read, the scan's, hands them on to the fit).
        var plan = SchemaVocabulary.needed(schema)
            ? SchemaEncoding.Plan(schema: SchemaVocabulary.kernelSchema(schema), layout: layout, keepKeys: keepKeys || schema.fitsVocabularies)
            : SchemaEncoding.Plan(schema: schema, layout: layout, keepKeys: keepKeys)
        plan.fastPath = fastPath
        return plan
    }

    private func isBlank(_ bytes: [UInt8], _ r: Range<Int>) -> Bool {
        bytes[r].allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
    }

    private func makeLayout(_ bytes: [UInt8], _ record: Range<Int>, number: Int, path: String) throws(DatasetError) -> SchemaLayout {
        var fields = CSVFields(delimiter: schema.delimiter, quote: schema.quote)
        let source: [UInt8]
        do { source = try fields.split(bytes, record) } catch {
            throw DatasetError(file: path, line: number, field: "column \(error.column)", error.message)
        }
        let names = fields.ranges.map { String(decoding: source[$0], as: UTF8.self) }
        return try SchemaLayout(schema: schema, first: names, file: path, line: number, labelsRequired: labelsRequired)
    }
}
