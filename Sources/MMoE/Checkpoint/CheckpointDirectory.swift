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
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.compactMap { name -> (String, Int)? in
            guard name.hasPrefix(Self.prefix), let step = Int(name.dropFirst(Self.prefix.count)), step >= 0 else { return nil }
            let dir = (path as NSString).appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent(ModelCheckpoint.fileName)) else { return nil }
            return (dir, step)
        }.sorted { $0.1 < $1.1 }
    }

    func latest() -> (path: String, step: Int)? { all().last }

    /// Saves `model` as `model.ckpt-<step>`, then deletes the oldest checkpoints beyond `keep`
    /// (only after the new one is complete, so a crash never leaves fewer than before).
    func save(_ model: MMoEModel, optimizer: any Optimizer, kind: OptimizerKind, step: Int, metadata: [String: String],
              lossScaler: LossScaler? = nil) throws -> String {
        let dir = (path as NSString).appendingPathComponent("\(Self.prefix)\(step)")
        var meta = metadata
        meta["step"] = "\(step)"
        // The optimizer first: a checkpoint counts as complete once its model file exists.
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try OptimizerCheckpoint.save(optimizer, kind: kind, to: dir, lossScaler: lossScaler)
        try ModelCheckpoint.save(model, to: dir, metadata: meta)
        for old in all().dropLast(keep) { try? FileManager.default.removeItem(atPath: old.path) }
        return dir
    }
}
