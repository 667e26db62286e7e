import Foundation
import Tensor

/// Saving and loading a model's parameters: `model.safetensors` in a checkpoint directory.
///
/// Tensor names say what they are. Inside the model, experts, gates and towers keep their weights
/// stacked (`experts.layers.1.weight` is `[E, in, out]`; see `MMoEModel.parameterSpecs`), so each
/// layer is one batched GEMM. In the file, a stacked parameter `P.rest` of shape `[S, ...]` is
/// written as S tensors `P.<s>.rest` of shape `[...]`: `experts.0.layers.1.weight` `[in, out]`,
/// `gates.1.out.weight`, `towers.0.out.bias` `[1]`. The rule is generic (every dense parameter's
/// first dimension is its stack), so every model kind gets it. Weights are stored `[in, out]`
/// (y = x·W + b), the transpose of `torch.nn.Linear.weight`. The fused embedding table is written
/// per field, `embedding.<field name>` of shape `[rows of the field, D]`, in `fieldNames` order.
public enum ModelCheckpoint {
    public static let fileName = "model.safetensors"
    /// Written as metadata `format`: names this naming rule, so a later change can be told apart.
    public static let format = "mmoe-swift-1"

    /// A checkpoint that cannot be loaded into the model (missing, damaged, or of other names or shapes).
    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Every tensor as the file holds it, in file order: its name and a live view of the model's
    /// storage (writing into the view writes the model).
    public static func fileTensors(_ model: MMoEModel) -> [(name: String, tensor: Tensor)] {
        var out: [(name: String, tensor: Tensor)] = []
        for p in model.parameters.parameters {
            for s in 0..<p.shape[0] { out.append((unstackedName(p.name, index: s), p.value.select(0, s))) }
        }
        if let table = model.embedding {
            let c = model.config
            var row = 0
            for (name, rows) in zip(c.fieldNames, c.fieldRows) {
                out.append(("embedding.\(name)", table.value.slice(0, row..<(row + rows))))
                row += rows
            }
        }
        return out
    }

    /// `P.rest` -> `P.<index>.rest` (`experts.layers.0.weight` -> `experts.2.layers.0.weight`).
    static func unstackedName(_ name: String, index: Int) -> String {
        guard let dot = name.firstIndex(of: ".") else { return "\(name).\(index)" }
        return "\(name[..<dot]).\(index)\(name[dot...])"
    }

    /// Writes `directory/model.safetensors` atomically (`AtomicFile`): a crash during the save
    /// leaves the previous file, whole. `metadata` goes into `__metadata__` beside `format`.
    public static func save(_ model: MMoEModel, to directory: String, metadata: [String: String] = [:]) throws {
        var meta = metadata
        meta["format"] = format
        let data = SafeTensors.encode(fileTensors(model).map { SafeTensors.Entry.f32($0.name, $0.tensor) }, metadata: meta)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try AtomicFile.write(data, as: fileName, in: directory)
    }

    /// Reads `directory/model.safetensors` into `model` and returns its metadata. The whole file
    /// is verified first (checksum, every tensor of the model present with its exact shape, no
    /// tensor the model lacks); nothing is changed unless all of it passes. Errors name the file.
    @discardableResult
    public static func load(into model: MMoEModel, from directory: String) throws -> [String: String] {
        let path = (directory as NSString).appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: path) else {
            throw LoadError(description: "--model_load_dir \(directory): no \(fileName) there")
        }
        let file: SafeTensors.File
        do { file = try SafeTensors.read(path: path) } catch { throw LoadError(description: error.description) }
        return try load(into: model, from: file)
    }

    /// `file` (read and checksum-verified by `SafeTensors.read`) into `model`: every tensor of the
    /// model must be present with its exact shape, and no other; nothing is changed unless all
    /// are. Returns the file's metadata.
    @discardableResult
    public static func load(into model: MMoEModel, from file: SafeTensors.File) throws -> [String: String] {
        let targets = fileTensors(model)
        do {
            for t in targets {
                if file.tensors[t.name] == nil, t.name.hasPrefix("embedding.") {
                    let stored = file.names.filter { $0.hasPrefix("embedding.") }
                    throw LoadError(description: "\(file.path): tensor \(t.name) is missing; the checkpoint's fields are "
                                    + "\(stored.map { String($0.dropFirst("embedding.".count)) }) (MMoEConfig.fieldNames)")
                }
                try file.check(t.name, fits: t.tensor)
            }
            let known = Set(targets.map(\.name))
            if let extra = file.names.first(where: { !known.contains($0) }) {
                throw LoadError(description: "\(file.path): tensor \(extra) is in the checkpoint but not in this model")
            }
            for t in targets { try file.copy(t.name, into: t.tensor) }
            return file.metadata
        } catch let error as SafeTensors.FormatError {
            throw LoadError(description: error.description)
        }
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
