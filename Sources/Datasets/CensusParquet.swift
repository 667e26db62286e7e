import Foundation

/// Census-income as OneFlow's MMoE example leaves it (its `tools/mmoe_parquet.py`, run on Spark):
/// a folder with `train/` and `test/`, each holding `part-*.parquet` files (Spark's `_SUCCESS` and
/// `.crc` files, and anything else, ignored). Each file has the 11 dense columns as FLOAT (already
/// min-max scaled, used as given; a null reads as 0), the sparse columns as INT64 ids (Spark's
/// `xxhash64` of the value: arbitrary 64-bit keys), and `label_income` and `label_marital` (0 or 1).
///
/// The ids become rows of the fused embedding table as raw Census values do: in first-seen order
/// over the training split, `--table_size_array` their capacities (a field with more distinct ids
/// grows, with a warning), ids never seen in training going to the field's unknown row; the rows
/// also carry each id as their raw key (`TabularData.keys`) for a keyed embedding store. A null id
/// is a value of its own. `load` reads both splits whole into memory, file by file in name order;
/// `openStream` (CensusParquet+Stream.swift) opens them for reading row group by row group.
public enum CensusParquet {
    public static let labelColumns = ["label_income", "label_marital"]

    /// The sorted `part-*.parquet` files of `directory/train` and `directory/test`; nil unless both
    /// folders exist and `train/` has at least one.
    public static func files(in directory: String) -> (train: [String], test: [String])? {
        func parts(_ sub: String) -> [String]? {
            let folder = (directory as NSString).appendingPathComponent(sub)
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return nil }
            return names.filter { $0.hasPrefix("part-") && $0.hasSuffix(".parquet") }.sorted()
                .map { (folder as NSString).appendingPathComponent($0) }
        }
        guard let train = parts("train"), let test = parts("test"), !train.isEmpty else { return nil }
        return (train, test)
    }

    /// True when `directory` has a `train/` and a `test/` folder, the layout of OneFlow's tool
    /// (whether or not they hold Parquet files; `load` says what is missing).
    public static func looksLikeFolder(_ directory: String) -> Bool {
        var isDirectory: ObjCBool = false
        return ["train", "test"].allSatisfy {
            FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent($0), isDirectory: &isDirectory)
                && isDirectory.boolValue
        }
    }

    /// Reads both splits; `tableSizes` (default `CensusIncome.defaultTableSizes`) are the sparse
    /// fields' capacities; `maxTrainRows`/`maxTestRows` keep only the first rows of each split.
    /// `keepKeys`: the rows carry the raw ids as `TabularData.keys`.
    /// `validPaths`: Parquet files (or folders of `part-*.parquet` files) read as the test split, into
    /// `CensusData.valid`.
    public static func load(directory: String, tableSizes: [Int]? = nil, maxTrainRows: Int? = nil,
                            maxTestRows: Int? = nil, keepKeys: Bool = false, validPaths: [String] = []) throws(DatasetError) -> CensusData {
        let group = CensusTaskGroup.incomeMarital
        let capacities = tableSizes ?? group.defaultTableSizes
        try CensusIncome.checkTableSizes(capacities, group: group)
        let paths = try splitFiles(directory)
        var vocabulary = IDVocabulary(fieldCount: group.sparseNames.count)
        var train = try read(paths.train, maxRows: maxTrainRows, vocabulary: &vocabulary, grow: true, keepKeys: keepKeys)
        guard train.count > 0 else {
            throw DatasetError(file: paths.train[0], "no rows to train on" + (maxTrainRows.map { " (the row limit is \($0))" } ?? ""))
        }
        var test = try read(paths.test, maxRows: maxTestRows, vocabulary: &vocabulary, grow: false, keepKeys: keepKeys)
        var valid = validPaths.isEmpty ? nil : try read(try parts(of: validPaths), maxRows: nil, vocabulary: &vocabulary, grow: false, keepKeys: keepKeys)

        let (encoder, warnings) = try makeEncoder(vocabulary, capacities: capacities, directory: directory)
        place(&train, schema: encoder.schema)
        place(&test, schema: encoder.schema)
        if valid != nil { place(&valid!, schema: encoder.schema) }
        return CensusData(train: train.tabular(), test: test.tabular(),
                          encoder: encoder, warnings: warnings, encoderReadsRawLines: false, valid: valid?.tabular())
    }

    /// The encoder of the fused table once every field's distinct training ids are known, with a
    /// warning for each field that grows past its capacity.
    static func makeEncoder(_ vocabulary: IDVocabulary, capacities: [Int], directory: String) throws(DatasetError) -> (CensusEncoder, [String]) {
        let group = CensusTaskGroup.incomeMarital
        let values = vocabulary.ids.map { $0.map { String($0) } }
        let encoder: CensusEncoder
        do {
            encoder = try CensusEncoder(denseMin: [Float](repeating: 0, count: CensusIncome.denseNames.count),
                                        denseMax: [Float](repeating: 1, count: CensusIncome.denseNames.count),
                                        capacities: capacities, values: values, group: group)
        } catch {
            throw DatasetError(file: directory, error.message)
        }
        var warnings: [String] = []
        for (f, ids) in vocabulary.ids.enumerated() where ids.count > capacities[f] {
            warnings.append("table_size_array: field \(group.sparseNames[f]) has \(ids.count) distinct ids, more than its capacity \(capacities[f]); the table grows to \(ids.count)")
        }
        return (encoder, warnings)
    }

    /// Local rows -> fused-table rows, once every field's size is known (-1, an id unseen in
    /// training, goes to the field's unknown row).
    static func place(_ rows: inout PartialRows, schema: FeatureSchema) {
        let f = schema.fieldOffsets.count
        for i in 0 ..< rows.ids.count {
            let field = i % f
            rows.ids[i] = rows.ids[i] < 0 ? Int32(schema.unknownRow(field: field)) : rows.ids[i] + Int32(schema.fieldOffsets[field])
        }
    }

    /// `paths` with each folder replaced by its sorted `part-*.parquet` files.
    static func parts(of paths: [String]) throws(DatasetError) -> [String] {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw DatasetError(file: path, "no such file") }
            guard isDirectory.boolValue else { files.append(path); continue }
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasPrefix("part-") && $0.hasSuffix(".parquet") }.sorted()
            guard !names.isEmpty else { throw DatasetError(file: path, "no part-*.parquet files") }
            files += names.map { (path as NSString).appendingPathComponent($0) }
        }
        return files
    }

    /// Per sparse field: id -> local row, in first-seen order.
    struct IDVocabulary: Sendable {
        var rows: [[Int64: Int32]]
        var ids: [[Int64]]
        init(fieldCount: Int) {
            rows = Array(repeating: [:], count: fieldCount)
            ids = Array(repeating: [], count: fieldCount)
        }
    }

    /// A null id's key: one per field, outside what Spark's ids use in practice.
    static func nullID(field: Int) -> Int64 { Int64.min + Int64(field) }

    struct PartialRows {
        /// Whether the raw ids are kept as `keys` (otherwise `keys` stays empty).
        let keepKeys: Bool
        var count = 0
        var dense: [Float] = []
        var ids: [Int32] = []  // local rows; -1 for an id unseen in training
        var keys: [UInt64] = []
        var labels: [Float] = []

        func tabular() -> TabularData {
            TabularData(count: count, denseWidth: CensusIncome.denseNames.count, dense: dense,
                        fieldCount: CensusTaskGroup.incomeMarital.sparseNames.count, ids: ids,
                        taskNames: CensusIncome.taskNames, labels: labels, keys: keepKeys ? keys : nil)
        }
    }

    static func read(_ paths: [String], maxRows: Int?, vocabulary: inout IDVocabulary, grow: Bool, keepKeys: Bool) throws(DatasetError) -> PartialRows {
        var rows = PartialRows(keepKeys: keepKeys)
        // The row groups first (footers only), so the arrays are allocated once at their size.
        let groups = try rowGroups(paths, maxRows: maxRows)
        let total = groups.reduce(0) { $0 + $1.rows }
        let fields = CensusTaskGroup.incomeMarital.sparseNames.count
        rows.dense.reserveCapacity(total * CensusIncome.denseNames.count)
        rows.ids.reserveCapacity(total * fields)
        rows.labels.reserveCapacity(total * labelColumns.count)
        if keepKeys { rows.keys.reserveCapacity(total * fields) }
        var file: ParquetFile?
        for ref in groups {
            if file?.path != ref.path { file = try ParquetFile(path: ref.path) }
            try readRowGroup(file!, ref.rowGroup, rows: ref.rows, into: &rows, vocabulary: &vocabulary, grow: grow)
        }
        return rows
    }

    /// Every column OneFlow's Census Parquet has, of a type for its role (checked from the footer).
    static func checkColumns(_ file: ParquetFile) throws(DatasetError) {
        let denseNames = CensusIncome.denseNames
        let sparseNames = CensusTaskGroup.incomeMarital.sparseNames
        for name in denseNames + sparseNames + labelColumns where file.physicalTypeName(column: name) == nil {
            throw DatasetError(file: file.path, field: name, "no such column; OneFlow's Census Parquet has \(denseNames.count) dense, \(sparseNames.count) sparse and the 2 label columns")
        }
        for name in denseNames where !["FLOAT", "DOUBLE"].contains(file.physicalTypeName(column: name)) {
            throw DatasetError(file: file.path, field: name, "a dense input must be FLOAT or DOUBLE, not \(file.physicalTypeName(column: name) ?? "?")")
        }
        for name in sparseNames where !["INT64", "INT32"].contains(file.physicalTypeName(column: name)) {
            throw DatasetError(file: file.path, field: name, "a sparse id must be INT64 or INT32, not \(file.physicalTypeName(column: name) ?? "?")")
        }
        for name in labelColumns where !["FLOAT", "DOUBLE", "INT32", "INT64"].contains(file.physicalTypeName(column: name)) {
            throw DatasetError(file: file.path, field: name, "a label must be numeric, not \(file.physicalTypeName(column: name) ?? "?")")
        }
    }

    /// Appends the first `n` rows of row group `g` (its columns checked by `checkColumns`).
    static func readRowGroup(_ file: ParquetFile, _ g: Int, rows n: Int, into rows: inout PartialRows,
                             vocabulary: inout IDVocabulary, grow: Bool) throws(DatasetError) {
        let denseNames = CensusIncome.denseNames
        let sparseNames = CensusTaskGroup.incomeMarital.sparseNames
        let start = rows.count
        let dw = denseNames.count, fw = sparseNames.count
        rows.dense += [Float](repeating: 0, count: n * dw)
        rows.ids += [Int32](repeating: 0, count: n * fw)
        if rows.keepKeys { rows.keys += [UInt64](repeating: 0, count: n * fw) }
        rows.labels += [Float](repeating: 0, count: n * 2)
        for (d, name) in denseNames.enumerated() {
            let column = try file.floats(column: name, rowGroup: g)
            for i in 0 ..< n { rows.dense[(start + i) * dw + d] = column.values[i] }
        }
        for (f, name) in sparseNames.enumerated() {
            let column = try file.integers(column: name, rowGroup: g)
            for i in 0 ..< n {
                let id = column.nulls?[i] == true ? nullID(field: f) : column.values[i]
                var local: Int32 = -1
                if let row = vocabulary.rows[f][id] {
                    local = row
                } else if grow {
                    local = Int32(vocabulary.ids[f].count)
                    vocabulary.rows[f][id] = local
                    vocabulary.ids[f].append(id)
                }
                rows.ids[(start + i) * fw + f] = local
                if rows.keepKeys { rows.keys[(start + i) * fw + f] = UInt64(bitPattern: id) }
            }
        }
        for (t, name) in labelColumns.enumerated() {
            let column = try file.floats(column: name, rowGroup: g)
            for i in 0 ..< n {
                if column.nulls?[i] == true {
                    throw DatasetError(file: file.path, field: name, "row group \(g), row \(i + 1): the label is null")
                }
                let v = column.values[i]
                guard v == 0 || v == 1 else {
                    throw DatasetError(file: file.path, field: name, "row group \(g), row \(i + 1): label \(v) is neither 0 nor 1")
                }
                rows.labels[(start + i) * 2 + t] = v
            }
        }
        rows.count += n
    }
}
