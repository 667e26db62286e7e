/// How `mmoe-train` builds and describes its embedding store.
extension TrainCommand {
    /// The backend the store's rows live in. Every `--store_type` keeps them in memory in this build;
    /// this is the one place a file-backed `RowStorage` plugs in (for `cached_ssd`, under
    /// `--persistent_path`, within `--cache_memory_budget_mb`).
    func rowStorageFactory(_ o: TrainOptions) -> RowStorageFactory {
        { width in MemoryRowStorage(width: width) }
    }

    /// One line saying what the store does, printed after the model line.
    static func storeDescription(_ store: EmbeddingStore, _ o: TrainOptions) -> String {
        var parts = ["Embedding store: \(store.kind.rawValue)"]
        switch store.kind {
        case .dynamic: parts.append("one row per raw 64-bit key")
        case .adaptive: parts.append("ids seen \(o.evFilterFreq) times get their own rows, the others share the hashed table")
        case .multihash: parts.append("per field, remainder and quotient tables of about sqrt(buckets) rows, \(store.storage.count) rows in all")
        case .fixed: parts.append("\(store.storage.count) hashed rows")
        }
        if let filter = store.filter, store.kind == .dynamic {
            parts.append("admitted at the \(filter.threshold)\(filter.threshold == 1 ? "st" : filter.threshold == 2 ? "nd" : filter.threshold == 3 ? "rd" : "th") sighting (\(o.evFilter.rawValue))")
        }
        switch store.settings.eviction {
        case .globalSteps(let n): parts.append("rows not updated for \(n) steps evicted every \(store.settings.evictionInterval) steps")
        case .l2Norm(let t): parts.append("rows with L2 norm below \(t) evicted every \(store.settings.evictionInterval) steps")
        case nil: break
        }
        parts.append("records of \(store.layout.width) floats (\(store.layout.dim) values, \(store.layout.stateWidth) \(o.optimizer.rawValue) state, 2 bookkeeping)")
        return parts.joined(separator: "; ")
    }
}
