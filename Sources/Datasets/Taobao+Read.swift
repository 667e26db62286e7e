extension Taobao {
    /// Streams `path`, handing `body` chunks of at most `chunkRows` rows (never an empty one), in file
    /// order. Memory is bounded by the chunk, never the file. `body` returns false to stop early;
    /// an error it throws stops the read and is rethrown unchanged. Reader errors are `DatasetError`s
    /// naming the file, the 1-based line and the column.
    ///
    /// `byteRange`: only the lines that start inside it, so consecutive ranges (see `slices`) cover
    /// every line exactly once; line numbers in errors are still those of the whole file. Plain files
    /// only; without a range, a `.gz` file is decompressed as it is read.
    /// `maxRows`: stop after this many rows (of the range); 0 or less reads none.
    /// Blank lines are skipped wherever they are; `\r\n` line ends are accepted.
    public static func read(path: String, byteRange: Range<Int>? = nil, chunkRows: Int = 8192, maxRows: Int? = nil,
                            options: TaobaoOptions = .init(), _ body: (TabularData) throws -> Bool) throws {
        try read(path: path, byteRange: byteRange, firstLine: nil, chunkRows: chunkRows, maxRows: maxRows, options: options, body)
    }

    /// `read` of any input, a file or a stream such as standard input (named `input.name` in
    /// errors), from its first line, in chunks of the rows of at most `chunkRows` lines (never an
    /// empty chunk). The lines of a chunk are encoded on all threads (`Parallel.threads`), with the
    /// same result as one thread.
    public static func read(_ input: DataInput, chunkRows: Int = 8192, options: TaobaoOptions = .init(),
                            _ body: (TabularData) throws -> Bool) throws {
        precondition(chunkRows > 0, "Taobao.read: chunkRows must be positive, got \(chunkRows)")
        try SchemaReader(schema: dataSchema(clampPrice: options.clampPrice), keepKeys: options.keepKeys).read(input, chunkRows: chunkRows, body)
    }

    /// `read` of one slice from `fileSlices`: its line numbers come with it.
    public static func read(path: String, slice: FileSlice, chunkRows: Int = 8192, maxRows: Int? = nil,
                            options: TaobaoOptions = .init(), _ body: (TabularData) throws -> Bool) throws {
        try read(path: path, byteRange: slice.bytes, firstLine: slice.firstLine, chunkRows: chunkRows, maxRows: maxRows,
                 options: options, body)
    }

    /// Both `read`s: `scan` with a body that may throw, its error carried out unchanged.
    private static func read(path: String, byteRange: Range<Int>?, firstLine: Int?, chunkRows: Int, maxRows: Int?,
                             options: TaobaoOptions, _ body: (TabularData) throws -> Bool) throws {
        try scanCarryingErrors(body) { deliver throws(DatasetError) in
            try scan(path: path, byteRange: byteRange, firstLine: firstLine, chunkRows: chunkRows, maxRows: maxRows,
                     options: options, deliver)
        }
    }

    /// The whole file, or its first `maxRows` rows, as one `TabularData` (with no rows for an empty
    /// file or `maxRows` of 0 or less).
    public static func load(path: String, maxRows: Int? = nil, options: TaobaoOptions = .init()) throws(DatasetError) -> TabularData {
        var parts: [TabularData] = []
        try scan(path: path, byteRange: nil, chunkRows: 65536, maxRows: maxRows, options: options) { chunk in
            parts.append(chunk)
            return true
        }
        if let all = TabularData.concatenating(parts) { return all }
        let schema = dataSchema(clampPrice: options.clampPrice)
        let layout = try SchemaLayout(schema: schema, first: columnNames, file: path, line: 1, labelsRequired: true)
        return SchemaEncoding(plan: .init(schema: schema, layout: layout, keepKeys: options.keepKeys)).emptyData()
    }

    /// `read` with a body that cannot throw, so reader errors keep their type.
    /// `firstLine`: the number of the first line starting in `byteRange`, when the caller knows it
    /// (`FileSlice`); otherwise it is counted from the start of the file.
    static func scan(path: String, byteRange: Range<Int>?, firstLine: Int? = nil, chunkRows: Int, maxRows: Int?,
                     options: TaobaoOptions, _ deliver: (TabularData) -> Bool) throws(DatasetError) {
        precondition(chunkRows > 0, "Taobao.read: chunkRows must be positive, got \(chunkRows)")
        let limit = max(0, maxRows ?? .max)
        let reader: ChunkReader
        var firstNumber = 1
        if let byteRange {
            guard !path.hasSuffix(".gz") else {
                throw DatasetError(file: path, "cannot read a byte range of a gzip-compressed file; decompress it first")
            }
            let size = try ChunkReader.fileSize(path: path)
            let start = try ChunkReader.lineStart(path: path, atOrAfter: max(0, byteRange.lowerBound), size: size)
            let end = try ChunkReader.lineStart(path: path, atOrAfter: max(0, byteRange.upperBound), size: size)
            guard start < end, limit > 0 else { return }
            if let firstLine { firstNumber = firstLine } else { firstNumber = try ChunkReader.newlines(path: path, before: start) + 1 }
            reader = try ChunkReader(path: path, byteRange: start ..< end)
        } else {
            reader = try ChunkReader(path: path)
        }
        try scan(reader: reader, firstNumber: firstNumber, chunkRows: chunkRows, limit: limit, options: options, deliver)
    }

    /// `scan` of an open reader, whose lines are numbered from `firstNumber`: the schema reader
    /// with the built-in schema, encoding on the calling thread alone (these reads run on loader
    /// threads beside training).
    private static func scan(reader: ChunkReader, firstNumber: Int, chunkRows: Int, limit: Int, options: TaobaoOptions,
                             _ deliver: (TabularData) -> Bool) throws(DatasetError) {
        var schemaReader = SchemaReader(schema: dataSchema(clampPrice: options.clampPrice), keepKeys: options.keepKeys)
        schemaReader.encodeThreads = 1
        let layout = try SchemaLayout(schema: schemaReader.schema, first: columnNames, file: reader.path, line: firstNumber, labelsRequired: true)
        try schemaReader.scan(reader, firstNumber: firstNumber, layout: layout, chunkRows: chunkRows, maxRows: limit, onBlock: nil, deliver)
    }
}
