import Foundation

/// The embedding-store flags: which combinations mean something, and what store they ask for.
extension TrainOptions {
    /// Dynamic rows keyed by the raw 64-bit key: `--ev` or `--adaptive_emb`.
    public var usesDynamicRows: Bool { ev || adaptiveEmb }
    /// The embedding rows live in an `EmbeddingStore` instead of the model's table: `--ev`,
    /// `--adaptive_emb`, `--multihash`, or rows kept in a persistent store.
    public var usesEmbeddingStore: Bool { usesDynamicRows || multihash || embeddingStoreDirectory != nil }

    /// The directory of the persistent (durable) store the embedding rows are committed to, or nil
    /// when they live in RAM only (then checkpoints carry a full snapshot of them):
    /// - `cached_ssd`: `--persistent_path` (the table lives there, in a `FileRowStorage`);
    /// - `cached_host_mem` with `--persistent_path`: there (a `JournaledRowStorage`: the table in
    ///   RAM, a base snapshot plus one delta per commit on disk);
    /// - otherwise, with `--incremental_ckpt`: `<--checkpoint>/embedding_store` (journaled too), so
    ///   the increments go beside the checkpoints that refer to them.
    public var embeddingStoreDirectory: String? {
        if storeType == .cachedSSD || (storeType == .cachedHostMem && persistentPath != nil) { return persistentPath }
        guard incrementalCkpt > 0, let checkpoint else { return nil }
        return (checkpoint as NSString).appendingPathComponent("embedding_store")
    }

    /// A short name of the flags that ask for an embedding store, for messages.
    var embeddingStoreFlag: String {
        if multihash { return "--multihash True" }
        if adaptiveEmb { return "--adaptive_emb True" }
        if ev { return "--ev True" }
        if storeType != .deviceMem && persistentPath != nil { return "--store_type \(storeType.rawValue) --persistent_path" }
        return "--incremental_ckpt \(incrementalCkpt)"
    }

    /// Refuses embedding-store flags that would do nothing or cannot go together; the message names
    /// the flag.
    func checkEmbeddingStoreFlags() throws(OptionsError) {
        if dynamicEV {
            throw OptionsError("--dynamic_ev True: DeepRec's dynamic-dimension EmbeddingVariable (rare ids stored with fewer dimensions to save memory) is not built: "
                               + "this store keeps every row at --embedding_vec_size (DeepRec's model zoo marks the flag \"not really enabled\" too); drop it")
        }
        if multihash && usesDynamicRows {
            throw OptionsError("--multihash True and --\(adaptiveEmb ? "adaptive_emb" : "ev") True ask for two different embedding tables; give one")
        }
        if evFilter != .none && !usesDynamicRows {
            throw OptionsError("--ev_filter \(evFilter.rawValue) decides which ids get EmbeddingVariable rows; it needs --ev True (or --adaptive_emb True)")
        }
        if evElimination != .none && !usesDynamicRows {
            throw OptionsError("--ev_elimination \(evElimination.rawValue) evicts EmbeddingVariable rows; it needs --ev True (or --adaptive_emb True)")
        }
        func given(_ flag: String) -> Bool { explicitFlags.contains(flag) }
        if given("ev_filter_freq") && evFilter == .none && !adaptiveEmb {
            throw OptionsError("--ev_filter_freq applies to --ev_filter counter or cbf, or to --adaptive_emb True; give one of them")
        }
        for flag in ["ev_cbf_max_elements", "ev_cbf_false_positive"] where given(flag) && evFilter != .cbf {
            throw OptionsError("--\(flag) sizes the counting Bloom filter of --ev_filter cbf; give --ev_filter cbf or drop it")
        }
        if given("ev_steps_to_live") && evElimination != .gstep {
            throw OptionsError("--ev_steps_to_live applies to --ev_elimination gstep; give it or drop --ev_steps_to_live")
        }
        if given("ev_l2_weight_threshold") && evElimination != .l2 {
            throw OptionsError("--ev_l2_weight_threshold applies to --ev_elimination l2; give it or drop --ev_l2_weight_threshold")
        }
        if given("ev_eviction_interval") && evElimination == .none {
            throw OptionsError("--ev_eviction_interval applies to --ev_elimination gstep or l2; give one or drop --ev_eviction_interval")
        }
        if evFilter == .cbf && evFilterFreq > 255 {
            throw OptionsError("--ev_filter_freq \(evFilterFreq): the counting Bloom filter has 8-bit counters, so it must be at most 255 (--ev_filter counter has no limit)")
        }
        if storeType == .cachedSSD && persistentPath == nil {
            throw OptionsError("--store_type cached_ssd keeps the embedding table in files under --persistent_path DIR; give one")
        }
        if incrementalCkpt > 0 && embeddingStoreDirectory == nil {
            throw OptionsError("--incremental_ckpt \(incrementalCkpt) saves the embedding rows changed every \(incrementalCkpt) s so a run can resume from them: "
                               + "give --checkpoint DIR (increments go to DIR/embedding_store, with a checkpoint each time) "
                               + "or --persistent_path DIR with --store_type cached_host_mem or cached_ssd")
        }
    }

    /// The store `--ev`, `--adaptive_emb` and `--multihash` ask for; the hashed table as a `.fixed`
    /// store when its rows are persisted (`embeddingStoreDirectory`); nil for the model's own hashed
    /// table (the default: `device_mem`, or `cached_host_mem` without `--persistent_path`).
    public func embeddingStoreSettings(seed: UInt64) -> EmbeddingStoreSettings? {
        let kind: EmbeddingStoreKind
        if multihash { kind = .multihash } else if adaptiveEmb { kind = .adaptive } else if ev { kind = .dynamic }
        else if embeddingStoreDirectory != nil { kind = .fixed } else { return nil }
        let eviction: EvictionRule? = switch evElimination {
        case .none: nil
        case .gstep: .globalSteps(evStepsToLive)
        case .l2: .l2Norm(evL2WeightThreshold)
        }
        return EmbeddingStoreSettings(kind: kind, seed: seed, eviction: eviction, evictionInterval: evEvictionInterval)
    }

    /// The admission filter of `--ev_filter` (`--adaptive_emb` without one counts exactly).
    public func admissionFilter() throws -> AdmissionFilter? {
        switch evFilter {
        case .counter: return CounterFilter(threshold: evFilterFreq)
        case .cbf: return try CountingBloomFilter(threshold: evFilterFreq, maxElements: evCBFMaxElements,
                                                  falsePositiveRate: Double(evCBFFalsePositive))
        case .none: return adaptiveEmb ? CounterFilter(threshold: evFilterFreq) : nil
        }
    }
}
