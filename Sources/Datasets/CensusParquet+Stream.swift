import Foundation

/// One row group of a Parquet folder to read: the file, the row group's index in it, and how many
/// of its first rows (all of them unless a row limit cuts the split there).
public struct ParquetRowGroupRef: Sendable, Hashable {
    public let path: String
    public let rowGroup: Int
    public let rows: Int

    public init(path: String, rowGroup: Int, rows: Int) {
        self.path = path
        self.rowGroup = rowGroup
        self.rows = rows
    }
}

/// OneFlow's Census Parquet folder opened for streaming: its row groups, and what turns one of
/// them into rows encoded exactly as `CensusParquet.load` encodes them (`read`), so a trainer can
/// decode row groups as it consumes them and hold only a few in memory.
///
/// Opening reads every file's footer (and checks its columns' types), then makes one pass over
/// the training split's 29 id columns, row group by row group, for the id vocabularies (the fused
/// table's rows are in first-seen order over the training split, as in memory): memory holds the
/// vocabularies and one row group's ids, never the split. The dense and label columns are first
/// decoded when `read` is called, so a corrupt one is found then.
public struct CensusParquetStream: Sendable {
    /// The training split's row groups in file order (files in name order), cut at the row limit.
    public let train: [ParquetRowGroupRef]
    /// The test split's, likewise.
    public let test: [ParquetRowGroupRef]
    /// The validation files' (`validPaths`), likewise; empty without.
    public var valid: [ParquetRowGroupRef] = []
    public let encoder: CensusEncoder
    /// As `CensusData.warnings` (fields growing past their capacity).
    public let warnings: [String]
    /// The rows carry the raw ids as `TabularData.keys`.
    public let keepKeys: Bool
    let vocabulary: CensusParquet.IDVocabulary

    public var trainRows: Int { train.reduce(0) { $0 + $1.rows } }
    public var testRows: Int { test.reduce(0) { $0 + $1.rows } }
    public var validRows: Int { valid.reduce(0) { $0 + $1.rows } }

    /// The rows of `ref`, encoded as `CensusParquet.load` encodes them. Errors name the file, the
    /// column and the row group (and the row, for a bad label).
    public func read(_ ref: ParquetRowGroupRef) throws(DatasetError) -> TabularData {
        let file = try ParquetFile(path: ref.path)
        guard ref.rowGroup < file.rowGroupCount, file.rowCount(rowGroup: ref.rowGroup) >= ref.rows else {
            throw DatasetError(file: ref.path, "row group \(ref.rowGroup): the file changed since it was opened (it no longer has \(ref.rows) rows there)")
        }
        try CensusParquet.checkColumns(file)
        var rows = CensusParquet.PartialRows(keepKeys: keepKeys)
        var lookup = vocabulary  // read only (grow: false), so never copied
        try CensusParquet.readRowGroup(file, ref.rowGroup, rows: ref.rows, into: &rows, vocabulary: &lookup, grow: false)
        CensusParquet.place(&rows, schema: encoder.schema)
        return rows.tabular()
    }
}

extension CensusParquet {
    /// Opens `directory` for streaming (see `CensusParquetStream`); the arguments are `load`'s.
    /// `validPaths`: Parquet files (or folders of `part-*.parquet` files) read as the test split is,
    /// row group by row group (their footers and columns are checked here).
    public static func openStream(directory: String, tableSizes: [Int]? = nil, maxTrainRows: Int? = nil,
                                  maxTestRows: Int? = nil, keepKeys: Bool = false, validPaths: [String] = []) throws(DatasetError) -> CensusParquetStream {
        let group = CensusTaskGroup.incomeMarital
        let capacities = tableSizes ?? group.defaultTableSizes
        try CensusIncome.checkTableSizes(capacities, group: group)
        let paths = try splitFiles(directory)
        let train = try rowGroups(paths.train, maxRows: maxTrainRows)
        guard !train.isEmpty else {
            throw DatasetError(file: paths.train[0], "no rows to train on" + (maxTrainRows.map { " (the row limit is \($0))" } ?? ""))
        }
        let test = try rowGroups(paths.test, maxRows: maxTestRows)
        let valid = validPaths.isEmpty ? [] : try rowGroups(try parts(of: validPaths), maxRows: nil)
        var vocabulary = IDVocabulary(fieldCount: group.sparseNames.count)
        var file: ParquetFile?
        for ref in train {
            if file?.path != ref.path { file = try ParquetFile(path: ref.path) }
            try addIDs(file!, ref, to: &vocabulary)
        }
        let (encoder, warnings) = try makeEncoder(vocabulary, capacities: capacities, directory: directory)
        return CensusParquetStream(train: train, test: test, valid: valid, encoder: encoder, warnings: warnings, keepKeys: keepKeys,
                                   vocabulary: vocabulary)
    }

    /// Rows of both splits, from the footers alone (nil when the folder is not OneFlow's layout or
    /// a footer cannot be read; `load` then says why).
    public static func rowCounts(directory: String) -> (train: Int, test: Int)? {
        guard let paths = files(in: directory) else { return nil }
        func rows(_ list: [String]) -> Int? {
            var total = 0
            for path in list {
                guard let file = try? ParquetFile(path: path) else { return nil }
                total += file.rowCount
            }
            return total
        }
        guard let train = rows(paths.train), let test = rows(paths.test) else { return nil }
        return (train, test)
    }

    /// The bytes one row takes as `TabularData` (dense inputs, ids, labels, and keys if kept).
    public static func bytesPerRow(keepKeys: Bool) -> Int {
        let fields = CensusTaskGroup.incomeMarital.sparseNames.count
        return 4 * CensusIncome.denseNames.count + 4 * fields + 4 * labelColumns.count + (keepKeys ? 8 * fields : 0)
    }

    /// Both splits' files, or the error `load` gives for a folder without them.
    static func splitFiles(_ directory: String) throws(DatasetError) -> (train: [String], test: [String]) {
        guard let paths = files(in: directory) else {
            let train = (directory as NSString).appendingPathComponent("train")
            throw DatasetError(file: train, "no part-*.parquet files (OneFlow's layout: train/ and test/ folders of part-*.parquet)")
        }
        guard !paths.test.isEmpty else {
            throw DatasetError(file: (directory as NSString).appendingPathComponent("test"), "no part-*.parquet files")
        }
        return paths
    }

    /// The row groups of `paths` in order, each file's columns checked, cut after `maxRows` rows.
    static func rowGroups(_ paths: [String], maxRows: Int?) throws(DatasetError) -> [ParquetRowGroupRef] {
        var refs: [ParquetRowGroupRef] = []
        var left = max(maxRows ?? .max, 0)
        for path in paths where left > 0 {
            let file = try ParquetFile(path: path)
            try checkColumns(file)
            for g in 0 ..< file.rowGroupCount where left > 0 {
                let n = min(file.rowCount(rowGroup: g), left)
                if n > 0 { refs.append(ParquetRowGroupRef(path: path, rowGroup: g, rows: n)) }
                left -= n
            }
        }
        return refs
    }

    /// Adds the ids of `ref`'s rows not seen before, field by field in row order (the order
    /// `readRowGroup` with `grow` adds them in).
    static func addIDs(_ file: ParquetFile, _ ref: ParquetRowGroupRef, to vocabulary: inout IDVocabulary) throws(DatasetError) {
        for (f, name) in CensusTaskGroup.incomeMarital.sparseNames.enumerated() {
            let column = try file.integers(column: name, rowGroup: ref.rowGroup)
            for i in 0 ..< ref.rows {
                let id = column.nulls?[i] == true ? nullID(field: f) : column.values[i]
                if vocabulary.rows[f][id] == nil {
                    vocabulary.rows[f][id] = Int32(vocabulary.ids[f].count)
                    vocabulary.ids[f].append(id)
                }
            }
        }
    }
}
