import Foundation
import Tensor
import Datasets

extension Trainer {
    /// `accumulateGradients` across the ranks of `communicator`: the batch is cut into the same
    /// `shards` row shards as in one process (same rows, same dropout seeds); rank r computes the
    /// contiguous block `communicator.rows(of: shards)` of them, and the shard gradients are summed
    /// in shard order, as `sumShardGradients` sums them, so the update has the same bits as one
    /// process's and every rank applies it. One all-to-all and one all-gather per step:
    ///
    /// - dense gradients, a reduce-scatter in shard order then an all-gather: rank q receives
    ///   block q of the parameter vector of every shard (in the all-to-all), sums those in shard
    ///   order, and the summed blocks are all-gathered (each rank sends about 2·P·(N-1)/N floats
    ///   when it holds one shard, as a ring all-reduce does, with a fixed order instead of MPI's);
    /// - the embedding gradient rows (sparse: the rows each shard touched) and each shard's
    ///   logits go to every rank in the same all-to-all, and are added in shard order.
    func accumulateDistributed(_ batch: Batch, shards: Int, weight: Float, timeline: Timeline?, table: EmbeddingTable?,
                               coefficients: [Float]?, _ communicator: any Communicator) -> Tensor {
        let b = batch.size, tasks = model.config.numTasks
        let seeds = (0..<shards).map { _ in dropoutRNG.next() }
        let ranges = (0..<shards).map { s in (s * b / shards)..<((s + 1) * b / shards) }
        let owned = Array(communicator.rows(of: shards))
        let logits = Tensor(uninitializedShape: [tasks, b])
        let tables = table.map { t in [t] + (1..<shards).map { _ in EmbeddingTable(sharingValueOf: t) } }
        Parallel.forEach(owned.count) { i in
            runShard(owned[i], of: batch, ranges: ranges, seed: seeds[owned[i]], tables: tables, weight: weight, timeline: timeline,
                     coefficients: coefficients, into: logits)
        }
        Self.span(timeline, "exchange_shard_gradients") {
            exchangeShardGradients(owned, ranges: ranges, logits: logits, tables: tables, communicator, timeline: timeline)
        }
        return logits
    }

    /// Sums every shard's gradients in shard order into the model's (and the first table's), on
    /// every rank, and fills in the logits of the shards other ranks computed.
    private func exchangeShardGradients(_ owned: [Int], ranges: [Range<Int>], logits: Tensor, tables: [EmbeddingTable]?,
                                        _ c: any Communicator, timeline: Timeline?) {
        let shards = ranges.count, tasks = logits.shape[0]
        let grads = model.parameters.grads, p = grads.count
        func table(_ s: Int) -> EmbeddingTable? { tables?[s] ?? shardModels[s].embedding }
        let local = owned.map { shardModels[$0].parameters.grads.scalars }
        // Per owned shard: [row count, rows (as bit patterns)..., values..., logits (T x rows_s)];
        // with a table sharded by key (`shardedStep`), the rows rank q owns, as places in what
        // this rank asked q for (`ShardedEmbedding.gradientPayload`).
        let sharded = shardedStep.flatMap { step in shardedEmbedding.map { (step, $0) } }
        func sparse(for q: Int) -> [Float] {
            var sparse: [Float] = []
            for s in owned {
                if case let (step, embedding)? = sharded {
                    sparse += embedding.gradientPayload(for: q, of: table(s)!, step)
                } else {
                    let rows = table(s)?.touchedRows ?? []
                    sparse.append(Float(rows.count))
                    sparse += rows.map { Float(bitPattern: UInt32(bitPattern: $0)) }
                    sparse += table(s)?.gradValues ?? []
                }
                sparse += logits.slice(1, ranges[s]).contiguous().scalars
            }
            return sparse
        }
        let replicated = sharded == nil ? sparse(for: c.rank) : []
        let own = sharded == nil ? replicated : sparse(for: c.rank)
        for s in owned where s > 0 {
            shardModels[s].parameters.zeroGrad()
        }
        let blocks = (0..<c.size).map { c.rows(of: p, rank: $0) }
        // One flat send buffer: for each rank q, block q of every owned shard's gradients, then
        // (for the other ranks) the sparse payload.
        let payloads = (0..<c.size).map { q in q == c.rank ? [] : sharded == nil ? replicated : sparse(for: q) }
        var send: [Float] = [], counts: [Int] = []
        send.reserveCapacity(local.count * p + payloads.reduce(0) { $0 + $1.count })
        for q in 0..<c.size {
            let before = send.count
            for values in local { send += values[blocks[q]] }
            send += payloads[q]
            counts.append(send.count - before)
        }
        let (received, receivedCounts) = Self.span(timeline, "all_to_all") { c.allToAll(flat: send, counts: counts) }
        var starts = [0]
        for n in receivedCounts.dropLast() { starts.append(starts.last! + n) }

        // Dense: this rank's block of the sum, shard 0's values then each further shard added in
        // order (the same float additions as `Kernels.addInPlace` in `sumShardGradients`).
        let mine = blocks[c.rank].count
        var sum = [Float](repeating: 0, count: mine)
        var first = true
        for q in 0..<c.size {
            for k in 0..<c.rows(of: shards, rank: q).count {
                let part = received[(starts[q] + k * mine)..<(starts[q] + (k + 1) * mine)]
                if first { sum = Array(part); first = false; continue }
                var j = 0
                for v in part { sum[j] += v; j += 1 }
            }
        }
        grads.assign(scalars: Self.span(timeline, "all_gather") { c.allGather(flat: sum, counts: blocks.map(\.count)) })
        shardedStep?.gradientsExchanged = true

        // Sparse rows and logits, in shard order.
        let target = table(0)
        let dim = target?.dim ?? 0
        for q in 0..<c.size {
            let mineShards = c.rows(of: shards, rank: q)
            let payload = q == c.rank ? own[...] : received[(starts[q] + mineShards.count * mine)..<(starts[q] + receivedCounts[q])]
            var k = payload.startIndex
            for s in mineShards {
                if case let (step, embedding)? = sharded {
                    k = embedding.receiveGradients(from: q, payload, at: k, step)
                    let n = ranges[s].count * tasks
                    if q != c.rank { logits.slice(1, ranges[s]).assign(Tensor(shape: [tasks, ranges[s].count], scalars: Array(payload[k..<(k + n)]))) }
                    k += n
                    continue
                }
                let count = Int(payload[k]); k += 1
                let rows = payload[k..<(k + count)].map { Int32(bitPattern: $0.bitPattern) }; k += count
                let values = payload[k..<(k + count * dim)]; k += count * dim
                // Shard 0's rows are already in the first table on the rank that computed them.
                if let target, !(s == 0 && q == c.rank) { target.addGradient(rows: rows, values: values) }
                if s > 0 && q == c.rank { table(s)?.zeroGrad() }
                let n = ranges[s].count * tasks
                if q != c.rank { logits.slice(1, ranges[s]).assign(Tensor(shape: [tasks, ranges[s].count], scalars: Array(payload[k..<(k + n)]))) }
                k += n
            }
        }
    }

    /// `predict`, with the chunk's rows split over the ranks and the logits gathered (every rank
    /// gets all of them): the same numbers as one process, since a row's logits do not depend on
    /// the rows predicted with it.
    func predictShared(_ chunk: TabularData) throws -> [[Float]] {
        guard let c = communicator, c.size > 1 else { return try predict(chunk) }
        let block = chunk.gathering(c.rows(of: chunk.count))
        let mine = try shardedEmbedding.map { try predictSharded(block, $0) } ?? predict(block)
        let all = c.allGather(mine.flatMap { $0 })
        let tasks = model.config.numTasks
        return (0..<tasks).map { t in
            (0..<c.size).flatMap { q -> ArraySlice<Float> in
                let n = c.rows(of: chunk.count, rank: q).count
                return all[q][(t * n)..<((t + 1) * n)]
            }
        }
    }
}
