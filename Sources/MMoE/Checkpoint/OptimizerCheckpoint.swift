import Foundation
import Tensor

/// An optimizer's state beside a model checkpoint: `optimizer.safetensors`, every state tensor
/// under its name (`adagrad.accumulator`, `adam.embedding.m`, ...), with the optimizer kind and
/// the step in `__metadata__` (and, with loss scaling, the scaler's state: `LossScaler`). Written
/// through a temporary file and a rename, like the model.
enum OptimizerCheckpoint {
    static let fileName = "optimizer.safetensors"

    static func save(_ optimizer: any Optimizer, kind: OptimizerKind, to directory: String, lossScaler: LossScaler? = nil) throws {
        let tensors = optimizer.stateTensors().map { (name: $0.name, shape: $0.tensor.shape, values: $0.tensor.scalars) }
        var metadata = ["optimizer": kind.rawValue, "step": "\(optimizer.step)"]
        if let lossScaler { metadata.merge(lossScaler.checkpointMetadata) { old, _ in old } }
        let data = SafeTensors.encode(tensors, metadata: metadata)
        try ModelCheckpoint.replaceFile(fileName, in: directory, with: data)
    }

    /// Restores `optimizer` from `directory`; a missing file, another optimizer kind or a
    /// mismatched tensor is an error naming the file, and leaves the optimizer as it was. With a
    /// `lossScaler`, its saved state is restored too (see `LossScaler.savedState(in:)`).
    static func load(into optimizer: any Optimizer, kind: OptimizerKind, from directory: String, lossScaler: LossScaler? = nil) throws {
        let path = URL(fileURLWithPath: directory).appendingPathComponent(fileName).path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelCheckpoint.LoadError(description: "\(directory): no \(fileName) there, so the optimizer state cannot be resumed")
        }
        let file = try SafeTensors.decode(data, file: path)
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
        for (name, t) in file.tensors { tensors[name] = Tensor(shape: t.shape, scalars: t.values) }
        do { try optimizer.restore(step: step, tensors: tensors) } catch {
            throw ModelCheckpoint.LoadError(description: "\(path): \(error)")
        }
        if let lossScaler, let scalerState { lossScaler.restore(scale: scalerState.scale, cleanSteps: scalerState.cleanSteps) }
    }
}
