import Foundation
import Tensor
import Datasets

extension Trainer {
    /// `train`, with the embedding rows sharded by key across the ranks (`ShardedEmbedding`): this
    /// rank pulls the rows its shards of the batch read from their owners, computes its shards
    /// (the gradient exchange sends the row gradients to their owners), and after the dense update
    /// applies the sparse update to the rows it owns.
    func trainSharded(_ batches: [Batch], _ sharded: ShardedEmbedding, timeline: Timeline?) throws -> [Tensor] {
        precondition(batches.count == 1, "Trainer: micro-batches are not supported with a table sharded by key")
        precondition(lossScaler == nil, "Trainer: loss scaling is not supported with a table sharded by key")
        let batch = batches[0], c = sharded.communicator
        let (rows, counting) = shardedRows(batch.size, c)
        let step = try Self.span(timeline, "embedding_store.pull") {
            try sharded.pull(batch, rows: rows, counting: counting, training: true)
        }
        shardedStep = step
        defer { shardedStep = nil }
        return try optimisationStep([step.batch], table: step.table, timeline: timeline) {
            try Self.span(timeline, "embedding_store.update") { try sharded.update(step, optimizer: optimizer) }
        }
    }

    /// The rows of a batch of `b` this rank computes in `accumulateGradients` (its block of row
    /// shards; every row when the batch is too small to cut), and whether its key counts count
    /// (false when every rank computes every row: rank 0's count).
    func shardedRows(_ b: Int, _ c: any Communicator) -> (Range<Int>, Bool) {
        let shards = shardCount(rows: b)
        guard shards > 1, c.size > 1 else { return (0..<b, c.rank == 0) }
        let mine = c.rows(of: shards)
        return ((mine.lowerBound * b / shards)..<(mine.upperBound * b / shards), true)
    }

    /// `predictShared`'s rows with a table sharded by key: this rank's block of `chunk`, its rows
    /// pulled from their owners (read only), predicted.
    func predictSharded(_ block: TabularData, _ sharded: ShardedEmbedding) throws -> [[Float]] {
        let batch = Batch(block, rows: 0..<block.count)
        let step = try sharded.pull(batch, rows: 0..<block.count, counting: false, training: false)
        let predictor = Predictor(model: model, tapeOptions: settings.tapeOptions, chunkRows: max(1, block.count))
        return predictor.logits(block, pulled: step.batch, table: step.table)
    }
}
