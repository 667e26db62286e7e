/// The embedding-store flags: which combinations mean something, and what store they ask for.
extension TrainOptions {
    /// Dynamic rows keyed by the raw 64-bit key: `--ev` or `--adaptive_emb`.
    public var usesDynamicRows: Bool { ev || adaptiveEmb }
    /// The embedding rows live in an `EmbeddingStore` instead of the model's table.
    public var usesEmbeddingStore: Bool { usesDynamicRows || multihash }

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
        if usesEmbeddingStore {
            let store = multihash ? "--multihash True" : adaptiveEmb ? "--adaptive_emb True" : "--ev True"
            for flag in ["checkpoint", "model_save_dir", "model_load_dir"] where given(flag) {
                throw OptionsError("\(store) with --\(flag): the embedding rows live in the embedding store, which model checkpoints cannot save or load yet "
                                   + "(they would silently drop the table); drop --\(flag)")
            }
        }
    }

    /// The store `--ev`, `--adaptive_emb` and `--multihash` ask for, or nil for the model's own
    /// hashed table (the default, and what every `--store_type` runs on in this build).
    public func embeddingStoreSettings(seed: UInt64) -> EmbeddingStoreSettings? {
        let kind: EmbeddingStoreKind
        if multihash { kind = .multihash } else if adaptiveEmb { kind = .adaptive } else if ev { kind = .dynamic } else { return nil }
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
