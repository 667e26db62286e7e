import Tensor
import Datasets

/// Where the trainer's batches come from: rows held in memory (`BatchStream`) or streamed from a
/// file (`FileBatchSource`). Every source is deterministic for a given seed, so a run is
/// reproducible whichever source, prefetching or loader-thread count feeds it.
public protocol BatchSource: AnyObject {
    /// Rows in one pass over the training data.
    var rowsPerEpoch: Int { get }
    var batchSize: Int { get }
    /// The next batch, epoch after epoch; an epoch ends with a smaller batch when the batch size
    /// does not divide the rows.
    func next() throws -> Batch
}

extension BatchSource {
    /// ceil(N / B).
    public var batchesPerEpoch: Int { (rowsPerEpoch + batchSize - 1) / batchSize }
}

/// Data to evaluate on, read chunk by chunk in a fixed order, so a test file need not fit in memory.
public struct EvalData {
    /// Calls `body` with consecutive chunks of rows, in file order.
    public let chunks: (_ body: (TabularData) throws -> Void) throws -> Void

    public init(chunks: @escaping (_ body: (TabularData) throws -> Void) throws -> Void) {
        self.chunks = chunks
    }

    /// Rows already in memory: one chunk.
    public static func memory(_ data: TabularData) -> EvalData {
        EvalData { body in try body(data) }
    }
}

/// `BatchStream` as a `BatchSource`.
public final class MemoryBatchSource: BatchSource {
    private var stream: BatchStream
    public init(_ data: TabularData, batchSize: Int, seed: UInt64) {
        stream = BatchStream(data, batchSize: batchSize, seed: seed)
    }
    public var rowsPerEpoch: Int { stream.data.count }
    public var batchSize: Int { stream.batchSize }
    public func next() -> Batch { stream.next() }
}
