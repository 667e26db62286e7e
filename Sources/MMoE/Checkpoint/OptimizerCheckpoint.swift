import Foundation
import Tensor

/// An optimizer's state beside a model checkpoint: `optimizer.safetensors`, every state tensor
/// under its name (`adagrad.accumulator`, `adam.embedding.m`, ...), with the optimizer kind and
/// the step in `__metadata__`. Written through a temporary file and a rename, like the model.
enum OptimizerCheckpoint {
    static let fileName = "optimizer.safetensors"

    static func save(_ optimizer: any Optimizer, kind: OptimizerKind, to directory: String) throws {
        let tensors = optimizer.stateTensors().map { (name: $0.name, shape: $0.tensor.shape, values: $0.tensor.scalars) }
        let data = SafeTensors.encode(tensors, metadata: ["optimizer": kind.rawValue, "step": "\(optimizer.step)"])
        try ModelCheckpoint.replaceFile(fileName, in: directory, with: data)
    }

    /// Restores `optimizer` from `directory`; a missing file, another optimizer kind or a
    /// mismatched tensor is an error naming the file, and leaves the optimizer as it was.
    static func load(into optimizer: any Optimizer, kind: OptimizerKind, from directory: String) throws {
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
        var tensors: [String: Tensor] = [:]
        for (name, t) in file.tensors { tensors[name] = Tensor(shape: t.shape, scalars: t.values) }
        do { try optimizer.restore(step: step, tensors: tensors) } catch {
            throw ModelCheckpoint.LoadError(description: "\(path): \(error)")
        }
    }
}
