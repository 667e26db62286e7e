/// Both Census splits, encoded the same way, with the encoder that did it.
public struct CensusData: Sendable {
    public let train: TabularData
    public let test: TabularData
    public let encoder: CensusEncoder
    /// Things the user should know but that do not stop the load, one line each (for example a
    /// field with more distinct values than its `--table_size_array` capacity).
    public let warnings: [String]
    /// True when `encoder` encodes raw Census lines (a model trained on it can predict from them);
    /// false for OneFlow's Parquet folder, whose encoder maps Spark's ids, not text.
    public var encoderReadsRawLines = true
}
