/// Both Census splits, encoded the same way, with the encoder that did it.
public struct CensusData: Sendable {
    /// The encoded training split.
    public let train: TabularData
    /// The encoded test split (values unseen in training go to each field's unknown row).
    public let test: TabularData
    /// The encoder fitted on the training split, saved with checkpoints for prediction.
    public let encoder: CensusEncoder
    /// Things the user should know but that do not stop the load, one line each (for example a
    /// field with more distinct values than its `--table_size_array` capacity).
    public let warnings: [String]
    /// True when `encoder` encodes raw Census lines (a model trained on it can predict from them);
    /// false for OneFlow's Parquet folder, whose encoder maps Spark's ids, not text.
    public var encoderReadsRawLines = true
    /// The validation rows asked for (`validPaths`), encoded as the test split; nil when none.
    public var valid: TabularData? = nil
}
