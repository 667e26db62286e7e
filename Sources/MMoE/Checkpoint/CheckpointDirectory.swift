import Foundation

/// DeepRec's `--checkpoint` directory: one `model.ckpt-<step>` checkpoint per save (the model and
/// the optimizer state), the newest `keep` of them kept (`--keep_checkpoint_max`), and a run given
/// the directory again resumes from the newest.
struct CheckpointDirectory {
    let path: String
    let keep: Int
    static let prefix = "model.ckpt-"

    /// Complete checkpoints (those whose model file exists), oldest first.
    func all() -> [(path: String, step: Int)] {
        steps().filter(\.complete).map { ($0.path, $0.step) }
    }

    /// Every `model.ckpt-<step>` directory, oldest first; incomplete ones are those a crash
    /// interrupted before their model file was renamed into place.
    private func steps() -> [(path: String, step: Int, complete: Bool)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.compactMap { name -> (String, Int, Bool)? in
            guard name.hasPrefix(Self.prefix), let step = Int(name.dropFirst(Self.prefix.count)), step >= 0 else { return nil }
            let dir = (path as NSString).appendingPathComponent(name)
            return (dir, step, FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent(ModelCheckpoint.fileName)))
        }.sorted { $0.1 < $1.1 }
    }

    func latest() -> (path: String, step: Int)? { all().last }

    /// The directory the checkpoint of `step` is saved in.
    func directory(step: Int) -> String { (path as NSString).appendingPathComponent("\(Self.prefix)\(step)") }

    /// Saves `model` as `model.ckpt-<step>`, then deletes the oldest checkpoints beyond `keep`
    /// and the leftovers of interrupted saves of earlier steps (only after the new one is
    /// complete, so a crash never leaves fewer than before).
    ///
    /// An embedding store joins in through two calls: `beforeModel(dir)` writes what goes into the
    /// checkpoint directory (a row snapshot) and returns metadata for the model file, which is
    /// written last among the checkpoint's files (it marks the checkpoint complete); `afterModel()`
    /// then commits a persistent store, before any older checkpoint is deleted, so a crash between
    /// the two leaves the previous checkpoint, which still matches the store.
    func save(_ model: MMoEModel, optimizer: any Optimizer, kind: OptimizerKind, step: Int, metadata: [String: String],
              lossScaler: LossScaler? = nil, beforeModel: (String) throws -> [String: String] = { _ in [:] },
              afterModel: () throws -> Void = {}) throws -> String {
        let dir = directory(step: step)
        var meta = metadata
        meta["step"] = "\(step)"
        // The optimizer first: a checkpoint counts as complete once its model file exists.
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try OptimizerCheckpoint.save(optimizer, kind: kind, to: dir, lossScaler: lossScaler)
        meta.merge(try beforeModel(dir)) { _, store in store }
        try ModelCheckpoint.save(model, to: dir, metadata: meta)
        try afterModel()
        for old in all().dropLast(keep) { try? FileManager.default.removeItem(atPath: old.path) }
        for broken in steps() where !broken.complete && broken.step < step { try? FileManager.default.removeItem(atPath: broken.path) }
        return dir
    }

    /// Deletes every checkpoint (complete or not) of a step after `step`: after a resume from
    /// `step`, they describe a run that did not happen (a persistent store never reached them).
    /// Returns the paths removed.
    func removeCheckpoints(after step: Int) -> [String] {
        let doomed = steps().filter { $0.step > step }.map(\.path)
        for path in doomed { try? FileManager.default.removeItem(atPath: path) }
        return doomed
    }
}
