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

    /// The `__metadata__` of `directory/model.safetensors`, read from the file's header alone (the
    /// 8-byte little-endian length and the JSON after it), so a large embedding table is not read
    /// just to learn how the model was built. A missing file or a header that is not a safetensors
    /// header is an error naming the path; a file without metadata gives an empty dictionary.
    public static func metadata(in directory: String) throws -> [String: String] {
        let path = URL(fileURLWithPath: directory).appendingPathComponent(fileName).path
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw LoadError(description: "\(directory): no \(fileName) there")
        }
        defer { try? handle.close() }
        func fail(_ why: String) -> LoadError { LoadError(description: "\(path): not a readable safetensors file: \(why)") }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: 0)
        guard let prefix = try handle.read(upToCount: 8), prefix.count == 8 else { throw fail("shorter than the 8-byte header length") }
        let length = prefix.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard length <= size - 8 else { throw fail("header length \(length) exceeds the file (\(size) bytes)") }
        guard let header = try handle.read(upToCount: Int(length)), header.count == Int(length),
              let object = try? JSONSerialization.jsonObject(with: header), let entries = object as? [String: Any] else {
            throw fail("the header is not a JSON object")
        }
        guard let metadata = entries["__metadata__"] else { return [:] }
        guard let strings = metadata as? [String: String] else { throw fail("__metadata__ is not a map of strings") }
        return strings
    }
}
