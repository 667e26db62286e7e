/// The Taobao CSV layout as a schema of the schema reader, which reads the Taobao files: the
/// former built-in line parser's encoding written as schema options, giving the same rows bit for
/// bit (`TaobaoSchemaTests`, against that parser kept in the tests).
///
/// No header: the 20 comma-separated columns are named by `"names"` (every line must have 20
/// fields). The 17 fields are sparse (hashed into DeepRec's bucket sizes, field = the index in
/// `fieldNames`), the two tag lists `tags` (`|`-separated, empty tokens skipped), and `price` an
/// identity feature (its integer is its row in [0, 50); `clip` is `--clamp_price`). Values are
/// not trimmed (`"trim": false`), as TensorFlow's CSV decoder keeps spaces. The labels are
/// `required`, with `"1"` positive and `"0"` negative, so anything else is an error, as DeepRec's
/// int32 label columns are.
extension Taobao {
    /// The built-in schema; `clampPrice` clamps an out-of-range price instead of stopping.
    public static func dataSchema(clampPrice: Bool = false) -> DataSchema {
        let features: [SchemaFeature] = zip(fieldNames, bucketSizes).map { name, buckets in
            var feature = SchemaFeature(name: name, kind: bagFieldNames.contains(name) ? .tags : .sparse, buckets: buckets)
            if name == identityFieldName {
                feature.vocabulary = .identity
                feature.clip = clampPrice
            }
            return feature
        }
        let tasks: [SchemaTask] = zip(taskNames, labelColumnNames).map { name, column in
            var task = SchemaTask(name: name, column: column, positive: ["1"], negative: ["0"])
            task.required = true
            return task
        }
        var schema = DataSchema(delimiter: UInt8(ascii: ","), header: false, features: features, tasks: tasks)
        schema.names = columnNames
        schema.trim = false
        return schema
    }
}
