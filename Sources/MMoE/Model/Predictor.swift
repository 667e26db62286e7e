import Foundation
import Tensor
import Datasets

/// The model's eval-mode forward pass over many rows, on all cores: what evaluation in training and
/// `mmoe-predict` both run, so their outputs agree bit for bit.
///
/// Rows go `chunkRows` at a time; each chunk is cut into one row shard per thread (at least
/// `minShardRows` rows each), and the shards gather their rows and run their forward passes
/// concurrently, each on one core with single-threaded GEMMs, without a tape and without dropout,
/// `blockRows` rows at a time. Rows do not interact in a forward pass, so neither the chunk size,
/// the block size nor the thread count changes a bit of the result.
public struct Predictor {
    /// The model whose eval-mode forward pass is run.
    public let model: MMoEModel
    /// How the forward computes (fused epilogues, bfloat16 GEMM inputs); training passes its own.
    public var tapeOptions: TapeOptions
    /// Rows per forward chunk.
    public var chunkRows: Int
    /// Rows a shard takes through the whole network at a time. A shard of a 4,096-row chunk used
    /// to go through at once (2,048 rows on two threads): each layer's output (`[E, 2048, 256]`,
    /// 6 MB for the reference model) then came back from L3 or memory for the next layer and
    /// the mixture. In blocks of 256 rows the activations stay in L2 between layers: Census
    /// evaluation on one thread of a Zen 3 went from 161k-174k to 190k-201k rows/s, and
    /// `mmoe-predict`'s peak memory halved.
    public var blockRows = Predictor.defaultBlockRows
    /// `blockRows` unless set: what evaluation and `mmoe-predict` run.
    public static let defaultBlockRows = 256

    /// Rows per shard below which a chunk is not cut further.
    public static let minShardRows = 256

    /// A predictor over `model`, running `chunkRows` rows per forward chunk.
    public init(model: MMoEModel, tapeOptions: TapeOptions = TapeOptions(), chunkRows: Int = 4096) {
        precondition(chunkRows > 0, "Predictor: chunkRows must be positive, got \(chunkRows)")
        self.model = model
        self.tapeOptions = tapeOptions
        self.chunkRows = chunkRows
    }

    /// Logits `[T][N]` of the rows of `data`, in row order.
    public func logits(_ data: TabularData) -> [[Float]] {
        precondition(model.embedding != nil || model.config.fieldCount == 0, "Predictor: the model has no embedding table; call logits(_:store:)")
        return forward(data, chunk: { _ in }) { rows in (Batch(data, rows: rows), nil) }
    }

    /// Logits `[T][N]` of the rows of `data`, for a model whose embedding rows live in `store`: each
    /// chunk's rows are pulled once, read only (nothing is created or counted), and every shard
    /// reads the chunk's working table.
    public func logits(_ data: TabularData, store: EmbeddingStore) throws -> [[Float]] {
        var working: WorkingRows?, chunkStart = 0
        return try forward(data, chunk: { rows in
            working = try store.pull([Batch(data, rows: rows)], training: false)
            chunkStart = rows.lowerBound
        }) { rows in
            (working!.batches[0].rows((rows.lowerBound - chunkStart)..<(rows.upperBound - chunkStart)), working!.table)
        }
    }

    /// Logits `[T][N]` of the rows of `data`, whose lookups `batch` (all of `data`'s rows) has
    /// already renumbered into `table` (rows pulled from a table sharded across ranks).
    func logits(_ data: TabularData, pulled batch: Batch, table: EmbeddingTable) -> [[Float]] {
        forward(data, chunk: { _ in }) { rows in (batch.rows(rows), table) }
    }

    /// The chunked, sharded forward pass: `chunk` is called with each chunk's rows before its
    /// shards run; `batch` gives a shard's batch (and a working table to read instead of the
    /// model's own).
    private func forward(_ data: TabularData, chunk: (Range<Int>) throws -> Void,
                         _ batch: (Range<Int>) -> (Batch, EmbeddingTable?)) rethrows -> [[Float]] {
        let tasks = model.config.numTasks
        var out = [[Float]](repeating: [], count: tasks)
        for t in 0..<tasks { out[t].reserveCapacity(data.count) }
        precondition(blockRows > 0, "Predictor: blockRows must be positive, got \(blockRows)")
        var start = 0
        while start < data.count {
            let end = min(start + chunkRows, data.count), n = end - start
            try chunk(start..<end)
            let shards = max(1, min(Parallel.threads, n / Self.minShardRows))
            let logits = Tensor(uninitializedShape: [tasks, n])   // [T, n]
            Parallel.forEach(shards) { s in
                let shard = (start + s * n / shards)..<(start + (s + 1) * n / shards)
                for lo in stride(from: shard.lowerBound, to: shard.upperBound, by: blockRows) {
                    let rows = lo..<min(shard.upperBound, lo + blockRows)
                    var rng = SeededRNG(seed: 0) // unused: no dropout outside training
                    let (part, table) = batch(rows)
                    let out = model.logits(part, tape: Tape(recording: false, options: tapeOptions), training: false, rng: &rng, embedding: table)
                    logits.slice(1, (rows.lowerBound - start)..<(rows.upperBound - start)).assign(out.value)
                }
            }
            for t in 0..<tasks { out[t].append(contentsOf: logits.select(0, t).scalars) }
            start = end
        }
        return out
    }

    /// The probability of a logit, 1 / (1 + e^-x), in a form that neither overflows nor loses the
    /// small probabilities of very negative logits.
    public static func probability(_ logit: Float) -> Float {
        if logit >= 0 { return 1 / (1 + Foundation.exp(-logit)) }
        let e = Foundation.exp(logit)
        return e / (1 + e)
    }
}
