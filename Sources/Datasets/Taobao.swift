import Foundation

/// How the Taobao reader treats values it could repair instead of rejecting.
public struct TaobaoOptions: Sendable, Equatable {
    /// Price buckets outside [0, 50) become 0 (below) or 49 (above) instead of an error. Text that
    /// is not an integer is an error either way: clamping would hide a shifted or broken column.
    public var clampPrice = false
    /// Also keep each id's raw 64-bit key (`TabularData.keys`), for dynamic embedding tables. Off by
    /// default: the keys double the memory of the ids.
    public var keepKeys = false

    public init(clampPrice: Bool = false, keepKeys: Bool = false) {
        self.clampPrice = clampPrice
        self.keepKeys = keepKeys
    }
}

/// The Taobao ad-display/click/buy logs in EasyRec's CSV layout, with DeepRec's MMoE features: two
/// tasks (click, buy) and 17 embedding fields, every one hashed into a fixed number of buckets so no
/// vocabulary is fitted and the train and test files are encoded independently.
///
/// Hashing: the bucket of value `v` in field `f` (its index among `fieldNames`) is
/// `FieldHash.key(field: f, v) % bucketSizes[f]`, and its fused-table row `schema.fieldOffsets[f]`
/// plus that. The empty string is a value like any other: it hashes to a bucket of its own, as
/// TensorFlow's hash-bucket column does with an empty string. The bucket numbers differ from
/// TensorFlow's (which uses Fingerprint64), so tables trained here do not load into DeepRec.
/// Unlike Census there is no row reserved for unseen values: every value has its bucket.
///
/// `tag_category_list` and `tag_brand_list` are bags: `|`-separated ids, each non-empty one hashed as
/// above into its field's buckets; empty tokens (`a||b`) are skipped as TensorFlow's `string_split`
/// does, so an empty list is a bag with no ids (a zero vector under a mean combiner). `price` is an
/// identity column: an integer bucket in [0, 50) (its raw key is `FieldHash.key` of the bucket's
/// decimal text, as if it were hashed). `final_gender_code` is read past but not used,
/// as in DeepRec. The files are read by the schema reader with the built-in schema `dataSchema`.
public enum Taobao {
    /// The training file's name in the data directory.
    public static let trainFileName = "taobao_train_data"
    /// The test file's name in the data directory.
    public static let testFileName = "taobao_test_data"

    /// The 20 columns of a line, in file order.
    public static let columnNames = [
        "clk", "buy", "pid", "adgroup_id", "cate_id", "campaign_id", "customer", "brand", "user_id",
        "cms_segid", "cms_group_id", "final_gender_code", "age_level", "pvalue_level", "shopping_level",
        "occupation", "new_user_class_level", "tag_category_list", "tag_brand_list", "price",
    ]

    /// Label columns, in `taskNames` order.
    public static let labelColumnNames = ["clk", "buy"]
    /// The two tasks: click (`ctr`) and buy (`cvr`).
    public static let taskNames = ["ctr", "cvr"]

    /// The embedding fields, in `TabularData` field order.
    public static let fieldNames = [
        "pid", "adgroup_id", "cate_id", "campaign_id", "customer", "brand", "user_id", "cms_segid",
        "cms_group_id", "age_level", "pvalue_level", "shopping_level", "occupation", "new_user_class_level",
        "tag_category_list", "tag_brand_list", "price",
    ]

    /// Buckets of each field, in `fieldNames` order: DeepRec's hash bucket sizes, and price's 50
    /// identity buckets.
    public static let bucketSizes = [10, 100_000, 10_000, 100_000, 100_000, 100_000, 100_000, 100, 100, 10, 10, 10, 10, 10, 100_000, 100_000, 50]

    /// Fields whose value is a `|`-separated list of ids (a bag of any length, possibly empty).
    public static let bagFieldNames = ["tag_category_list", "tag_brand_list"]

    /// The field whose integer value is its bucket, without hashing.
    public static let identityFieldName = "price"

    /// The fused-table layout of `fieldNames` with `bucketSizes` rows each; no dense features.
    public static let schema = FeatureSchema(denseNames: [], fieldNames: fieldNames, fieldRows: bucketSizes)

    /// Finds `taobao_train_data` and `taobao_test_data` in `directory`. nil when the training file
    /// is absent (not a Taobao directory, so a caller can try other layouts); an error when the
    /// training file is there but the test file is not, since that is a Taobao directory missing
    /// half of itself.
    public static func files(in directory: String) throws(DatasetError) -> (train: String, test: String)? {
        func find(_ name: String) -> String? {
            let path = (directory as NSString).appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            let found = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
            return found ? path : nil
        }
        guard let train = find(trainFileName) else { return nil }
        guard let test = find(testFileName) else {
            throw DatasetError(file: directory, "no \(testFileName) in this directory (the training file \(trainFileName) is there)")
        }
        return (train, test)
    }
}
