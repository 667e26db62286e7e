import Foundation
import Tensor

/// An optimizer's state beside a model checkpoint: `optimizer.safetensors`, every state tensor
/// under its name (`adagrad.accumulator`, `adam.embedding.m`, ...; flat over the model's parameter
/// buffer, in `MMoEModel.parameterSpecs` order), with the optimizer kind and the step in
/// `__metadata__` (and, with loss scaling, the scaler's state: `LossScaler`). Written atomically
/// and verified on load, like the model.
enum OptimizerCheckpoint {
    static let fileName = "optimizer.safetensors"

    /// `metadata` is written beside `optimizer` and `step` (which it must not hold).
    static func save(_ optimizer: any Optimizer, kind: OptimizerKind, to directory: String, metadata: [String: String] = [:],
                     lossScaler: LossScaler? = nil) throws {
        let entries = optimizer.stateTensors().map { SafeTensors.Entry.f32($0.name, $0.tensor) }
        var meta = metadata.merging(["optimizer": kind.rawValue, "step": "\(optimizer.step)"]) { _, own in own }
        if let lossScaler { meta.merge(lossScaler.checkpointMetadata) { old, _ in old } }
        try AtomicFile.write(SafeTensors.encode(entries, metadata: meta), as: fileName, in: directory)
    }

    /// Restores `optimizer` from `directory` and returns the file's metadata; a missing or corrupt
    /// file, another optimizer kind or a mismatched tensor is an error naming the file, and leaves
    /// the optimizer as it was. With a `lossScaler`, its saved state is restored too (see
    /// `LossScaler.savedState(in:)`).
    @discardableResult
    static func load(into optimizer: any Optimizer, kind: OptimizerKind, from directory: String,
                     lossScaler: LossScaler? = nil) throws -> [String: String] {
        let path = (directory as NSString).appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: path) else {
            throw ModelCheckpoint.LoadError(description: "\(directory): no \(fileName) there, so the optimizer state cannot be resumed")
        }
        let file: SafeTensors.File
        do { file = try SafeTensors.read(path: path) } catch { throw ModelCheckpoint.LoadError(description: error.description) }
        guard file.metadata["optimizer"] == kind.rawValue else {
            throw ModelCheckpoint.LoadError(description: "\(path): saved by --optimizer \(file.metadata["optimizer"] ?? "?"), this run uses --optimizer \(kind.rawValue)")
        }
        guard let step = file.metadata["step"].flatMap(Int.init) else {
            throw ModelCheckpoint.LoadError(description: "\(path): the metadata has no step")
        }
        let scalerState: (scale: Float, cleanSteps: Int)?
        do { scalerState = try lossScaler?.savedState(in: file.metadata) } catch {
            throw ModelCheckpoint.LoadError(description: "\(path): \(error)")
        }
        var tensors: [String: Tensor] = [:]
        do { for name in file.names { tensors[name] = try file.tensor(name) } } catch {
            throw ModelCheckpoint.LoadError(description: error.description)
        }
        do { try optimizer.restore(step: step, tensors: tensors) } catch {
            throw ModelCheckpoint.LoadError(description: "\(path): \(error)")
        }
        if let lossScaler, let scalerState { lossScaler.restore(scale: scalerState.scale, cleanSteps: scalerState.cleanSteps) }
        return file.metadata
    }
}
