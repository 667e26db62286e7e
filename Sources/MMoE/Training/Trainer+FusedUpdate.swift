import Tensor

// The dense end of a step in one pass. After the backward pass a step used to sum the shards'
// dense gradients, add L2, run the optimizer and zero the gradients: four passes over buffers of
// the model's size (DeepRec's model: 0.8M floats each, 3 MB), each one from L3 or memory. On two
// threads those passes took 8% of a DeepRec step on Taobao. Now, in the usual step, the optimizer's
// pass does all of it chunk by chunk (16k elements, which stay in L2 from one part to the next):
// it adds the shards' gradients and L2 to a chunk and updates it. Every element gets the same
// operations in the same order as before, so the same bits. Nothing zeroes the gradients: the step
// then lets them count as zero (`ParameterStore.discardGradients()`) and the next backward pass
// overwrites them.

extension Trainer {
    /// Whether this step leaves the dense shard sum, L2 and zeroing to the optimizer's pass: one
    /// micro-batch, in one process, with nothing that reads the summed gradients between the
    /// backward pass and the update (the loss scaler's check, the test hook).
    func fusesDenseUpdate(_ batches: [Batch]) -> Bool {
        batches.count == 1 && shardModels.count > 1 && lossScaler == nil && afterBackward == nil
            && (communicator?.size ?? 1) == 1
    }

    /// The hooks of the fused pass over `dense` with `shards` shards unsummed: before a chunk is
    /// updated, shards 1..<shards' gradients are added into the model's in shard order, then
    /// L2 · w where L2 applies. The shards' gradients are left to count as zero
    /// (`discardShardGradients`).
    func fusedDenseHooks(shards: Int, dense: Range<Int>) -> OptimizerChunkHooks {
        let grads = model.parameters.grads, values = model.parameters.values
        let parts = shardModels[1..<shards].map(\.parameters.grads)
        let l2 = settings.l2, l2Ranges = l2 > 0 ? self.l2Ranges : []
        return OptimizerChunkHooks(before: { lo, count in
            let chunk = (dense.lowerBound + lo)..<(dense.lowerBound + lo + count)
            Kernels.addShardGradients(parts, into: grads, l2: l2, values: values, l2Ranges: l2Ranges, chunk: chunk)
        })
    }

    /// After a fused pass: shards 1..<shards' dense gradients were added into the model's, so
    /// they count as zero from now on.
    func discardShardGradients(_ shards: Int) {
        for replica in shardModels[1..<shards] { replica.parameters.discardGradients() }
    }
}
