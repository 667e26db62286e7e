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
    /// - dense gradients, a reduce-scatter in shard order: rank q receives block q of the
    ///   parameter vector of every shard (in the all-to-all) and sums those in shard order. Rank q
    ///   then applies the optimizer to block q only, and the updated weights are all-gathered
    ///   (`denseUpdateBlocks`; without it the summed gradients are, and every rank updates all of
    ///   them). Either way each rank sends about 2·P·(N-1)/N floats when it holds one shard, as a
    ///   ring all-reduce does, with a fixed order instead of MPI's;
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
        let blocks = denseBlocks(c)
        // One flat send buffer: for each rank q, block q of every owned shard's gradients, then
        // (for the other ranks) the sparse payload.
        let payloads = (0..<c.size).map { q in q == c.rank ? [] : sharded == nil ? replicated : sparse(for: q) }
        var send: [Float] = [], counts: [Int] = []
        send.reserveCapacity(owned.count * p + payloads.reduce(0) { $0 + $1.count })
        for q in 0..<c.size {
            let before = send.count
            for s in owned {
                shardModels[s].parameters.grads.slice(0, blocks[q]).withUnsafeBufferPointer { send.append(contentsOf: $0) }
            }
            send += payloads[q]
            counts.append(send.count - before)
        }
        for s in owned where s > 0 {
            shardModels[s].parameters.zeroGrad()
        }
        let (received, receivedCounts) = Self.span(timeline, "all_to_all") { c.allToAll(flat: send, counts: counts) }
        var starts = [0]
        for n in receivedCounts.dropLast() { starts.append(starts.last! + n) }

        // Dense: this rank's block of the sum, shard 0's values then each further shard added in
        // order (the same float additions as `Kernels.addAndZero` in `sumShardGradients`), into
        // the block of the model's gradients (whose own values went into `send` above).
        let mine = blocks[c.rank].count
        var parts: [Int] = []
        for q in 0..<c.size {
            for k in 0..<c.rows(of: shards, rank: q).count { parts.append(starts[q] + k * mine) }
        }
        Kernels.sumInOrder(received, parts: parts, into: grads.slice(0, blocks[c.rank]))
        if !splitsDenseUpdate {
            Self.span(timeline, "all_gather") { c.allGather(inPlace: grads, counts: blocks.map(\.count)) }
        }
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

    /// The blocks of the flat parameter buffer, one per rank, when the ranks split the dense
    /// update: each applies the optimizer (and L2) to its own block and the updated weights are
    /// gathered, so each runs 1/N of the optimizer instead of all of it, for the same bytes sent
    /// as gathering the summed gradients. Every step of the run does so (also a batch too small
    /// to cut, which every rank computes whole), so each rank's optimizer state stays current in
    /// its own block. nil (every rank updates all the weights): one process, loss scaling (whose
    /// overflow check reads every gradient), or a test hook that reads the gradients.
    var denseUpdateBlocks: [Range<Int>]? {
        splitsDenseUpdate ? denseBlocks(communicator!) : nil
    }

    /// Whether the ranks split the dense update (`denseUpdateBlocks`).
    var splitsDenseUpdate: Bool {
        guard let c = communicator, c.size > 1 else { return false }
        return lossScaler == nil && afterBackward == nil
    }

    /// Rank q's block of the flat parameter buffer, for the reduce-scatter of the gradients and a
    /// split update: about P/N elements, cut at multiples of 16. The optimizers work in 16-lane
    /// groups from the start of what they are given, and the last few elements (under 16) take a
    /// scalar path whose square root is exact where the lanes' is not; cut there, every element
    /// falls in the same kind of group as in one process, so the update has the same bits.
    func denseBlocks(_ c: any Communicator) -> [Range<Int>] {
        let p = model.parameters.count
        let cuts = (0...c.size).map { q in q == c.size ? p : c.rows(of: p, rank: q).lowerBound / 16 * 16 }
        return (0..<c.size).map { cuts[$0]..<cuts[$0 + 1] }
    }

    /// After a split update (`denseUpdateBlocks`): every rank's block of the updated weights
    /// into every rank's model.
    func gatherUpdatedWeights(_ blocks: [Range<Int>], timeline: Timeline?) {
        guard let c = communicator else { return }
        Self.span(timeline, "all_gather_weights") { c.allGather(inPlace: model.parameters.values, counts: blocks.map(\.count)) }
        optimizerStateSplit = true
    }

    /// Brings every rank's block of the dense optimizer state together, after split updates left
    /// each rank's state current in its own block only, so a checkpoint saves the whole state.
    /// Every rank must call it (it is a collective when the state is split).
    func gatherOptimizerState() {
        guard optimizerStateSplit, let c = communicator, c.size > 1 else { return }
        let p = model.parameters.count, blocks = denseBlocks(c)
        for (_, state) in optimizer.stateTensors() where state.shape == [p] {
            c.allGather(inPlace: state, counts: blocks.map(\.count))
        }
        optimizerStateSplit = false
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
