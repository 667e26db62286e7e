import Foundation

/// The memory a training run needs, checked before the network is built (issue 19, defect 3).
extension TrainCommand {
    /// Refuses (exit 2) a configuration whose parameters, gradients, optimizer state, one step's
    /// activations and in-memory embedding rows exceed the machine's memory, saying how much it
    /// would need; every product is overflow-checked, so flags near 2^63 are refused the same way.
    func checkMemory(_ config: MMoEConfig, _ o: TrainOptions) throws(UsageError) {
        let states = RowOptimizer(kind: o.optimizer, dim: 1).stateWidth
        let activations = config.activationsPerRowBound.flatMap { a -> Int? in
            let r = a.multipliedReportingOverflow(by: o.batchSize)
            return r.overflow ? nil : r.partialValue
        }
        var parts: [(name: String, bytes: Int?)] = [
            ("dense parameters, gradients and \(o.optimizer.rawValue) state", MemoryEstimate.floats(config.parameterBound, times: 2 + states)),
            ("activations of a \(o.batchSize)-row step", MemoryEstimate.floats(activations)),
        ]
        // The embedding rows: on disk with cached_ssd (its cache is --cache_memory_budget_mb), in RAM otherwise.
        if o.storeType != .cachedSSD {
            parts.append(("embedding rows, gradients and state", MemoryEstimate.floats(config.embeddingBound, times: 2 + states)))
        }
        let estimate = MemoryEstimate(parts: parts)
        guard !estimate.fits() else { return }
        throw UsageError("this configuration needs \(estimate) and this machine has \(MemoryEstimate.text(MemoryEstimate.machineBytes)) "
                         + "of memory; reduce --batch_size, --num_experts, --expert_dnn, --tower_dnn, --embedding_vec_size or the table sizes")
    }

    /// `--inter` (shards of a step, each with its own activations), capped at the batch's rows:
    /// a shard needs at least one row.
    func batchShards(_ o: TrainOptions) -> Int {
        let asked = o.inter > 0 ? o.inter : max(2, worldSize)
        if asked > o.batchSize && o.inter > 0 {
            printError("note: --inter \(o.inter) is more than the \(o.batchSize) rows of a batch; using \(o.batchSize) shards")
        }
        return max(1, min(asked, o.batchSize))
    }
}
