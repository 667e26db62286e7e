/// The raw UCI Census-income layout as a schema of the schema reader: the built-in Census
/// reader's encoding (`CensusEncoder`) written as schema options, so the schema reader on the raw
/// files gives the same rows, bit for bit (`CensusSchemaTests`).
///
/// No header; 42 comma-separated columns read by index (the reader trims the blank after each
/// comma). The 11 dense columns are `minmax`-scaled with `"clip": true` (fitted on the training
/// file, clipped to [0, 1], a constant column 0); the sparse columns have a `"vocabulary": "fit"`
/// with the group's capacities as `buckets` (a field with more distinct training values grows, and
/// the last row of each field is for values unseen in training); the labels are `positive` lists.
/// The line's closing full stop stays on the last column, `income_50k`, so its positive value is
/// listed with and without it.
extension CensusTaskGroup {
    /// The group's schema, with `tableSizes` the capacities of `sparseNames` (the reference's
    /// `defaultTableSizes` when nil).
    public func schema(tableSizes: [Int]? = nil) -> DataSchema {
        let names = CensusIncome.columnNames
        let sizes = tableSizes ?? defaultTableSizes
        precondition(sizes.count == sparseNames.count, "CensusTaskGroup.schema: \(sizes.count) table sizes for \(sparseNames.count) fields")
        func column(_ name: String) -> Int { names.firstIndex(of: name)! }
        var dense: [SchemaFeature] = CensusIncome.denseNames.map {
            SchemaFeature(name: $0, kind: .dense, index: column($0), transform: .minmax)
        }
        for i in dense.indices { dense[i].clip = true }
        var sparse: [SchemaFeature] = zip(sparseNames, sizes).map {
            SchemaFeature(name: $0, kind: .sparse, index: column($0), buckets: $1)
        }
        for i in sparse.indices { sparse[i].vocabulary = .fit }
        let tasks = zip(taskNames, labelColumnNames).map { task, label in
            let positive = switch label {
            case "income_50k": ["50000+", "50000+."]
            case "marital_stat": ["Never married"]
            default: Self.bachelorOrHigher
            }
            return SchemaTask(name: task, index: column(label), positive: positive)
        }
        return DataSchema(delimiter: UInt8(ascii: ","), header: false, features: dense + sparse, tasks: tasks)
    }
}
