import Tensor

// The dense end of a step in one pass. After the backward pass a step used to sum the shards'
// dense gradients, add L2, run the optimizer and zero the gradients: four passes over buffers of
// the model's size (DeepRec's model: 0.8M floats each, 3 MB), each one from L3 or memory. On two
// threads those passes took 8% of a DeepRec step on Taobao. Now, in the usual step, the optimizer's
// pass does all of it: its update loop reads each element's gradient as the model's plus the
// other shards' plus L2 (`ShardGradients` in Tensor). Every element gets the same operations in
// the same order as before, so the same bits. Nothing zeroes the gradients, and nothing writes the
// sum: the step then lets them count as zero (`ParameterStore.discardGradients()`) and the next
// backward pass overwrites them.

extension Trainer {
    /// Whether this step leaves the dense shard sum, L2 and zeroing to the optimizer's pass: one
    /// micro-batch, in one process, with nothing that reads the summed gradients between the
    /// backward pass and the update (the loss scaler's check, the test hook).
    func fusesDenseUpdate(_ batches: [Batch]) -> Bool {
        batches.count == 1 && shardModels.count > 1 && lossScaler == nil && afterBackward == nil
            && (communicator?.size ?? 1) == 1
    }

    /// The shards' gradients as the fused pass over `dense` (the whole buffer) reads them: the
    /// model's, then shards 1..<shards' in shard order, then L2 · w where L2 applies. The shards'
    /// gradients are left to count as zero (`discardShardGradients`).
    /// `packs`: the weights' kept GEMM packs, rewritten as the pass writes the weights.
    func fusedShardGradients(shards: Int, dense: Range<Int>, packs: WeightPackRefresh?) -> ShardGradients {
        precondition(dense == 0..<model.parameters.count, "the fused update runs over the whole dense buffer, not \(dense)")
        return ShardGradients(parts: shardModels[1..<shards].map(\.parameters.grads), l2: settings.l2,
                              values: model.parameters.values, lanes: l2Lanes, packs: packs)
    }

    /// After a fused pass: shards 1..<shards' dense gradients were read into the update, so they
    /// count as zero from now on.
    func discardShardGradients(_ shards: Int) {
        for replica in shardModels[1..<shards] { replica.parameters.discardGradients() }
    }
}
