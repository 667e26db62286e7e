/// What a checkpoint of an embedding store holds besides its rows. The rows are `storage`'s
/// records (save them with a snapshot of the storage); everything else the store knows, the
/// admission filter's counts, the counters, AdamAsync's beta powers, is `checkpointState()`,
/// named arrays of UInt64 (Floats as bit patterns). Restoring both into a store built with the same
/// settings continues training exactly where the saved one stopped.
extension EmbeddingStore {
    public func checkpointState() -> [String: [UInt64]] {
        var state = filter?.checkpointState() ?? [:]
        state["store.layout"] = [UInt64(layout.dim), UInt64(layout.stateWidth)]
        state["store.kind"] = [UInt64(EmbeddingStoreKind.allCases.firstIndex(of: kind)!)]
        state["store.counters"] = [UInt64(admissions), UInt64(evictions), UInt64(zeroLookups)]
        state["store.beta_powers"] = [UInt64(rowOptimizer.betaPowers.beta1.bitPattern), UInt64(rowOptimizer.betaPowers.beta2.bitPattern)]
        return state
    }

    /// Takes back what `checkpointState()` gave, after checking it belongs to a store of this kind
    /// and record layout; on an error nothing is changed.
    public func restoreCheckpointState(_ state: [String: [UInt64]]) throws {
        let kindIndex = UInt64(EmbeddingStoreKind.allCases.firstIndex(of: kind)!)
        guard state["store.kind"] == [kindIndex] else {
            throw EmbeddingStoreError("embedding store state: saved by a different kind of store (store.kind \(state["store.kind"] ?? []), here \(kind.rawValue))")
        }
        guard state["store.layout"] == [UInt64(layout.dim), UInt64(layout.stateWidth)] else {
            throw EmbeddingStoreError("embedding store state: saved with records of \(state["store.layout"] ?? []) (dim, optimizer state), here [\(layout.dim), \(layout.stateWidth)]; use the same --embedding_vec_size and --optimizer")
        }
        guard let counters = state["store.counters"], counters.count == 3, let powers = state["store.beta_powers"], powers.count == 2 else {
            throw EmbeddingStoreError("embedding store state: store.counters or store.beta_powers is missing or misshapen")
        }
        try filter?.restore(state)
        admissions = Int(counters[0])
        evictions = Int(counters[1])
        zeroLookups = Int(counters[2])
        rowOptimizer.betaPowers = (Float(bitPattern: UInt32(truncatingIfNeeded: powers[0])), Float(bitPattern: UInt32(truncatingIfNeeded: powers[1])))
    }
}
