import Foundation
import Tensor

/// Saving and loading a model's parameters: a directory holding `model.safetensors`, with the
/// dense parameters under their names (`experts.layers.0.weight`, ...) and the fused embedding
/// table as `embedding`. Optimizer state is not saved yet, so loading restores the model, not
/// the run.
public enum ModelCheckpoint {
    public static let fileName = "model.safetensors"

    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Writes `directory/model.safetensors` through a temporary file and a rename, so an
    /// interrupted save never leaves a half-written checkpoint under the final name.
    public static func save(_ model: MMoEModel, to directory: String, metadata: [String: String] = [:]) throws {
        var tensors = model.parameters.parameters.map { (name: $0.name, shape: $0.shape, values: $0.value.scalars) }
        if let e = model.embedding { tensors.append((name: "embedding", shape: e.value.shape, values: e.value.scalars)) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try replaceFile(fileName, in: directory, with: SafeTensors.encode(tensors, metadata: metadata))
    }

    /// Writes `data` as `directory/name` through a temporary file and a rename, so an interrupted
    /// write never leaves a half-written file under the final name.
    static func replaceFile(_ name: String, in directory: String, with data: Data) throws {
        let fm = FileManager.default
        let final = URL(fileURLWithPath: directory).appendingPathComponent(name)
        let temporary = URL(fileURLWithPath: directory).appendingPathComponent(".\(name).partial")
        try data.write(to: temporary)
        if fm.fileExists(atPath: final.path) { try fm.removeItem(at: final) }
        try fm.moveItem(at: temporary, to: final)
    }

    /// Reads `directory/model.safetensors` into `model`. Every tensor of the model must be present
    /// with its exact shape; nothing is changed unless all of them are.
    public static func load(into model: MMoEModel, from directory: String) throws {
        let path = URL(fileURLWithPath: directory).appendingPathComponent(fileName).path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LoadError(description: "--model_load_dir \(directory): no \(fileName) there")
        }
        let file = try SafeTensors.decode(data, file: path)
        var targets = model.parameters.parameters.map { (name: $0.name, value: $0.value) }
        if let e = model.embedding { targets.append((name: "embedding", value: e.value)) }
        for t in targets {
            guard let stored = file.tensors[t.name] else { throw LoadError(description: "\(path): tensor \(t.name) is missing") }
            guard stored.shape == t.value.shape else {
                throw LoadError(description: "\(path): tensor \(t.name) has shape \(stored.shape) in the checkpoint but \(t.value.shape) in this model")
            }
        }
        for t in targets { t.value.assign(Tensor(shape: t.value.shape, scalars: file.tensors[t.name]!.values)) }
    }
}
