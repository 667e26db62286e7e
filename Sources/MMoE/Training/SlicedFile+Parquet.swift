import Datasets

extension SlicedFile {
    /// The training split of a streamed Parquet folder: its row groups, in a seeded order each
    /// epoch (`seededOrder` over every row group of every file), each decoded when it is read.
    public init(_ stream: CensusParquetStream, seed: UInt64) {
        let groups = stream.train
        self.init(rows: stream.trainRows, pieces: groups.count, order: Self.seededOrder(count: groups.count, seed: seed)) { index, body in
            _ = try body(stream.read(groups[index]))
        }
    }
}

extension EvalData {
    /// The test split of a streamed Parquet folder, row group by row group in file order.
    public static func testSplit(of stream: CensusParquetStream) -> EvalData {
        rowGroups(stream.test, of: stream)
    }

    /// Row groups `refs` of a streamed Parquet folder's files (its test or validation files), in order.
    public static func rowGroups(_ refs: [ParquetRowGroupRef], of stream: CensusParquetStream) -> EvalData {
        EvalData { body in
            for ref in refs { try body(stream.read(ref)) }
        }
    }
}
