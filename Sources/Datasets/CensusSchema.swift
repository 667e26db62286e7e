/// The raw UCI Census-income layout as a schema of the schema reader, which reads the raw files:
/// the former built-in line parser's encoding written as schema options, giving the same rows bit
/// for bit (`CensusSchemaTests`, against that parser kept in the tests).
///
/// No header: the 42 comma-separated columns are named by `"names"` (so every line must have 42
/// fields, and messages name the column). The 11 dense columns are `required` (an empty cell or a
/// `?` is an error) and `minmax`-scaled with `"clip": true` (fitted on the training file, clipped
/// to [0, 1], a constant column 0); the sparse columns have a `"vocabulary": "fit"` with the
/// group's capacities as `buckets` (a field with more distinct training values grows, and the last
/// row of each field is for values unseen in training); the labels are `positive` lists, and the
/// income label also a `negative` one, so a value other than the two income labels is an error.
/// The line's closing full stop stays on the last column, `income_50k`, so its values are listed
/// with and without it.
extension CensusTaskGroup {
    /// The group's schema, with `tableSizes` the capacities of `sparseNames` (the reference's
    /// `defaultTableSizes` when nil).
    public func schema(tableSizes: [Int]? = nil) -> DataSchema {
        let names = CensusIncome.columnNames
        let sizes = tableSizes ?? defaultTableSizes
        precondition(sizes.count == sparseNames.count, "CensusTaskGroup.schema: \(sizes.count) table sizes for \(sparseNames.count) fields")
        var dense: [SchemaFeature] = CensusIncome.denseNames.map {
            SchemaFeature(name: $0, kind: .dense, transform: .minmax)
        }
        for i in dense.indices {
            dense[i].clip = true
            dense[i].required = true
        }
        var sparse: [SchemaFeature] = zip(sparseNames, sizes).map {
            SchemaFeature(name: $0, kind: .sparse, buckets: $1)
        }
        for i in sparse.indices { sparse[i].vocabulary = .fit }
        let tasks = zip(taskNames, labelColumnNames).map { task, label in
            switch label {
            case "income_50k": SchemaTask(name: task, column: label, positive: ["50000+", "50000+."], negative: ["- 50000", "- 50000."])
            case "marital_stat": SchemaTask(name: task, column: label, positive: ["Never married"])
            default: SchemaTask(name: task, column: label, positive: Self.bachelorOrHigher)
            }
        }
        var schema = DataSchema(delimiter: UInt8(ascii: ","), header: false, features: dense + sparse, tasks: tasks)
        schema.names = names
        return schema
    }
}
