import Foundation
import Datasets

/// Rebuilding a saved model whose embedding rows live in an embedding store, for `mmoe-predict`.
extension CheckpointManifest {
    /// The model saved in `directory`, rebuilt from its manifest, with its embedding store when it
    /// was trained with one: a `MemoryRowStorage` filled from the `embedding_store.rows` snapshot
    /// saved beside it (every `--model_save_dir` save and every checkpoint of a run without a
    /// persistent store has one), or from the shard files of a table sharded by key across ranks,
    /// merged. A checkpoint whose rows are a commit of a persistent store holds only the dense
    /// layers, and is refused with a message saying where to predict from instead.
    public static func loadModelAndStore(from directory: String) throws
        -> (model: MMoEModel, manifest: CheckpointManifest, store: EmbeddingStore?) {
        let file = URL(fileURLWithPath: directory).appendingPathComponent(ModelCheckpoint.fileName).path
        let metadata = try ModelCheckpoint.metadata(in: directory)
        let manifest = try CheckpointManifest(metadata: metadata, file: file)
        let rows = try EmbeddingPersistence.savedRows(metadata, file: file)
        switch rows {
        case .inModel:
            let (model, manifest) = try loadModel(from: directory)
            return (model, manifest, nil)
        case .persistent(_, let generation, let step, let store):
            throw ModelCheckpoint.LoadError(description: "\(file): its embedding rows are not in \(directory) but in commit \(generation) (step \(step)) "
                                            + "of the persistent store \(store); predict with a --model_save_dir save of that run, which holds its rows "
                                            + "(\(EmbeddingPersistence.snapshotFile))")
        case .snapshot, .shards:
            guard let kind = metadata[EmbeddingPersistence.kindKey].flatMap(EmbeddingStoreKind.init(rawValue:)),
                  let optimizer = metadata[EmbeddingPersistence.optimizerKey].flatMap(OptimizerKind.init(rawValue:)) else {
                throw ModelCheckpoint.LoadError(description: "\(file): the metadata has no readable \(EmbeddingPersistence.kindKey) and \(EmbeddingPersistence.optimizerKey)")
            }
            let model = try MMoEModel(manifest.config, seed: 0, embeddingTable: false)
            try ModelCheckpoint.load(into: model, from: directory)
            var settings = EmbeddingStoreSettings(kind: kind, seed: 0)
            settings.createsInitialRows = false
            // Evaluation pulls never consult a filter; an adaptive store only requires one to exist.
            let store = try EmbeddingStore(model: model, optimizer: optimizer, settings: settings,
                                           filter: kind == .adaptive ? CounterFilter(threshold: 1) : nil,
                                           makeStorage: { MemoryRowStorage(width: $0) })
            if case .shards(let count, let checksums) = rows {
                // A table sharded by key: every rank's shard file, merged into one table.
                try ShardFiles.load(into: store, from: directory, count: count, checksums: checksums, shard: nil)
            } else {
                try RowSnapshot.load(into: store.storage, from: (directory as NSString).appendingPathComponent(EmbeddingPersistence.snapshotFile))
            }
            return (model, manifest, store)
        }
    }
}
