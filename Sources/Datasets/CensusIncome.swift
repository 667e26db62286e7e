import Foundation

/// The UCI Census-Income (KDD) data set in its raw form. The names below describe the MMoE paper's
/// first task group, income above 50,000 and never married (the default); `CensusTaskGroup` has
/// the fields and labels of both groups.
public enum CensusIncome {
    /// The 42 columns of a raw line, in file order.
    public static let columnNames = [
        "age", "class_worker", "det_ind_code", "det_occ_code", "education", "wage_per_hour", "hs_college",
        "marital_stat", "major_ind_code", "major_occ_code", "race", "hisp_origin", "sex", "union_member",
        "unemp_reason", "full_or_part_emp", "capital_gains", "capital_losses", "stock_dividends",
        "tax_filer_stat", "region_prev_res", "state_prev_res", "det_hh_fam_stat", "det_hh_summ",
        "instance_weight", "mig_chg_msa", "mig_chg_reg", "mig_move_reg", "mig_same", "mig_prev_sunbelt",
        "num_emp", "fam_under_18", "country_father", "country_mother", "country_self", "citizenship",
        "own_or_self", "vet_question", "vet_benefits", "weeks_worked", "year", "income_50k",
    ]

    /// The numeric fields. `own_or_self`, `vet_benefits` and `year` are small codes, but the usual
    /// preprocessing treats them as numbers, and so do we.
    public static let denseNames = [
        "age", "wage_per_hour", "capital_gains", "capital_losses", "stock_dividends", "instance_weight",
        "num_emp", "own_or_self", "vet_benefits", "weeks_worked", "year",
    ]

    /// The columns the two default labels are read from, in `taskNames` order.
    public static let labelColumnNames = ["income_50k", "marital_stat"]

    public static let sparseNames = columnNames.filter { !denseNames.contains($0) && !labelColumnNames.contains($0) }

    /// Capacities of the sparse fields, in `sparseNames` order: the reference launch script's
    /// `--table_size_array`, which is the number of distinct values each field has in the full data.
    public static let defaultTableSizes = [9, 52, 47, 17, 3, 24, 15, 5, 10, 2, 3, 6, 8, 6, 6, 51, 38, 8, 10, 9, 10, 3, 4, 5, 43, 43, 43, 5, 3]

    /// The default task group's names, in label order.
    public static let taskNames = ["income", "marital"]

    /// The training file's name in the data directory (`.gz` accepted too).
    public static let trainFileName = "census-income.data"
    /// The test file's name in the data directory (`.gz` accepted too).
    public static let testFileName = "census-income.test"

    /// Finds `census-income.data[.gz]` and `census-income.test[.gz]` in `directory` (plain preferred
    /// when both exist); nil if the training file is absent.
    public static func files(in directory: String) -> (train: String, test: String?)? {
        func find(_ name: String) -> String? {
            for candidate in [name, name + ".gz"] {
                let path = (directory as NSString).appendingPathComponent(candidate)
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                    return path
                }
            }
            return nil
        }
        guard let train = find(trainFileName) else { return nil }
        return (train, find(testFileName))
    }

    /// Reads both splits, fits the encoder on the training split and encodes both. A directory
    /// without the raw files but with `train/` and `test/` folders is read as OneFlow's Parquet
    /// layout instead (`CensusParquet`).
    ///
    /// `tableSizes` are the sparse fields' capacities (`defaultTableSizes` when nil); a field with
    /// more distinct training values grows and adds a line to `warnings`. `maxTrainRows` and
    /// `maxTestRows` keep only the first rows of each split (nil: all; 0 or less: none, which for the
    /// training split is an error). `tasks` picks the labels, and with them the sparse fields
    /// (`tableSizes` has one entry per field of `tasks.sparseNames`). `keepKeys`: the rows also carry
    /// each value's raw key (`TabularData.keys`), which dynamic embedding tables (`--ev`) look rows up by.
    /// `validPaths`: validation files in the same format (raw files, or Parquet files or folders of
    /// them), encoded as the test split is, into `CensusData.valid`.
    public static func load(directory: String, tableSizes: [Int]? = nil, maxTrainRows: Int? = nil,
                            maxTestRows: Int? = nil, tasks: CensusTaskGroup = .incomeMarital,
                            keepKeys: Bool = false, validPaths: [String] = []) throws(DatasetError) -> CensusData {
        let capacities = tableSizes ?? tasks.defaultTableSizes
        try checkTableSizes(capacities, group: tasks)
        if files(in: directory) == nil && CensusParquet.looksLikeFolder(directory) {
            guard tasks == .incomeMarital else {
                throw DatasetError(file: directory, "OneFlow's Census Parquet has the income and marital labels only; --census_tasks \(tasks.rawValue) needs the raw files")
            }
            return try CensusParquet.load(directory: directory, tableSizes: tableSizes, maxTrainRows: maxTrainRows,
                                          maxTestRows: maxTestRows, keepKeys: keepKeys, validPaths: validPaths)
        }
        guard let paths = files(in: directory) else {
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) || !isDirectory.boolValue {
                throw DatasetError(file: directory, "no such directory; expected \(trainFileName)[.gz] and \(testFileName)[.gz] in it")
            }
            throw DatasetError(file: directory, "no \(trainFileName) or \(trainFileName).gz in this directory (expected \(trainFileName)[.gz] and \(testFileName)[.gz])")
        }
        guard let testPath = paths.test else {
            throw DatasetError(file: directory, "no \(testFileName) or \(testFileName).gz in this directory (the training file \((paths.train as NSString).lastPathComponent) is there)")
        }
        let fitted = try CensusEncoder.fit(path: paths.train, capacities: capacities, maxRows: maxTrainRows, group: tasks, keepKeys: keepKeys)
        let test = try fitted.encoder.encode(path: testPath, maxRows: maxTestRows, keepKeys: keepKeys)
        var data = CensusData(train: fitted.data, test: test, encoder: fitted.encoder, warnings: fitted.warnings)
        var valid: [TabularData] = []
        for path in validPaths { valid.append(try fitted.encoder.encode(path: path, keepKeys: keepKeys)) }
        data.valid = TabularData.concatenating(valid)
        return data
    }

    /// `--table_size_array` must give one positive capacity per sparse field of `group`, and the
    /// fused table must stay addressable by `Int32` ids.
    static func checkTableSizes(_ sizes: [Int], group: CensusTaskGroup = .incomeMarital) throws(DatasetError) {
        let file = "--table_size_array"
        let names = group.sparseNames
        guard sizes.count == names.count else {
            let why = group == .educationMarital ? " (education is a label in the \(group.rawValue) task group, so it is not a field)" : ""
            throw DatasetError(file: file, "expected \(names.count) sizes, one per sparse field\(why), got \(sizes.count)")
        }
        for (f, size) in sizes.enumerated() where size <= 0 {
            throw DatasetError(file: file, field: names[f], "size \(f + 1) of \(sizes.count) is \(size); sizes must be positive")
        }
        let total = sizes.reduce(0) { $0 + min($1, Int(Int32.max)) + 1 }
        guard total < Int(Int32.max) else {
            throw DatasetError(file: file, "sizes too large: the fused table must have fewer than \(Int32.max) rows")
        }
    }
}
