import Foundation

/// The pass over the training files before training: every record is parsed and checked (so a bad
/// line stops the run before anything is written), the `standardize` and `minmax` transforms are
/// fitted, the rows are counted, and each file is cut into slices at record starts for
/// `FileBatchSource` to stream. With `keepRows`, the encoded rows are kept too (small data trains
/// from memory without a second read).
public struct SchemaScan: Sendable {
    /// One training file as scanned.
    public struct File: Sendable {
        public let path: String
        public let layout: SchemaLayout
        public let rows: Int
        /// Byte ranges starting at record starts, covering the file (the first includes the header);
        /// a `.gz` file is one slice.
        public let slices: [FileSlice]
    }

    /// Records per block of the scan: slices are cut between blocks.
    static let blockRecords = 1024

    /// The schema with its transforms fitted on these files.
    public let schema: DataSchema
    public let files: [File]
    /// Rows over all files.
    public let rows: Int
    /// The rows, encoded with the fitted schema, when asked to keep them.
    public let data: TabularData?

    /// Scans `paths` in order. `sliceBytes`: about how many bytes each slice holds. `maxRows`: stop
    /// after this many rows in all.
    public init(schema: DataSchema, paths: [String], keepRows: Bool, keepKeys: Bool = false, sliceBytes: Int = 8 << 20,
                maxRows: Int? = nil) throws(DatasetError) {
        precondition(!paths.isEmpty, "SchemaScan: no files")
        // The raw read: statistics-fitted transforms pass values through until fitted.
        var statistics = SchemaStatistics(schema: schema)
        let reader = SchemaReader(schema: statistics.raw, keepKeys: keepKeys)
        var vocabularies = SchemaVocabulary.Fit(schema: schema)
        var lastBlock: LineBlock?, fitError: DatasetError?
        var kept: [TabularData] = []
        var files: [File] = []
        var total = 0
        for path in paths {
            let layout = try reader.layout(of: path)
            var cuts: [FileSlice] = [], lastCut = 0
            var rows = 0
            let chunkReader = try ChunkReader(path: path)
            try reader.scan(chunkReader, firstNumber: 1, layout: layout, skipHeader: true, chunkRows: Self.blockRecords,
                            maxRows: maxRows.map { max(0, $0 - total) }, onBlock: { block in
                if cuts.isEmpty {
                    cuts.append(FileSlice(bytes: 0 ..< 0, firstLine: 1))
                } else if block.offset - lastCut >= sliceBytes {
                    cuts.append(FileSlice(bytes: block.offset ..< block.offset, firstLine: block.number(0)))
                    lastCut = block.offset
                }
                if !vocabularies.isEmpty { lastBlock = block }
            }) { chunk in
                if let lastBlock {
                    do throws(DatasetError) { try vocabularies.add(chunk, block: lastBlock, layout: layout, path: path) } catch {
                        fitError = error
                        return false
                    }
                }
                rows += chunk.count
                statistics.addBlock(chunk)
                if keepRows { kept.append(chunk) }
                return true
            }
            if let fitError { throw fitError }
            let size = try ChunkReader.fileSize(path: path)
            var slices: [FileSlice] = []
            if path.hasSuffix(".gz") || cuts.isEmpty {
                slices = [FileSlice(bytes: 0 ..< size, firstLine: 1)]
            } else {
                for (i, cut) in cuts.enumerated() {
                    let end = i + 1 < cuts.count ? cuts[i + 1].bytes.lowerBound : size
                    slices.append(FileSlice(bytes: cut.bytes.lowerBound ..< end, firstLine: cut.firstLine))
                }
            }
            files.append(File(path: path, layout: layout, rows: rows, slices: slices))
            total += rows
            if let maxRows, total >= maxRows { break }
        }
        let schema = vocabularies.fitted(statistics.fitted(rows: total))
        self.schema = schema
        self.files = files
        rows = total
        if keepRows {
            var all = TabularData.concatenating(kept) ?? SchemaEncoding(plan: .init(schema: schema, layout: files[0].layout, keepKeys: keepKeys)).emptyData()
            statistics.apply(schema, to: &all)
            // Fitted vocabularies: the kept rows' ids from their keys, with the fitted layout.
            if schema.fitsVocabularies {
                try SchemaVocabulary.Remap(schema: schema, keepKeys: keepKeys, file: paths[0], scaleDense: false, encodedWith: statistics.raw)?.apply(&all)
            }
            data = all
        } else {
            data = nil
        }
    }
}
