import Foundation
import Tensor
import Datasets

/// What `mmoe-export` does once its arguments are parsed: load the checkpoint with its manifest,
/// build the ONNX graph (`ONNXExporter`) and write it atomically (a temporary file beside `--out`,
/// renamed when complete, removed on failure: no partial `.onnx` is ever left under the name).
/// With `--sample_dir`, also random encoded rows and the model's own outputs on them.
public struct ExportCommand {
    public let options: ExportOptions
    /// Where the summary and warnings go (stderr in the CLI).
    public var printError: (String) -> Void

    public init(options: ExportOptions,
                printError: @escaping (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) {
        self.options = options
        self.printError = printError
    }

    /// What was written.
    public struct Summary: Sendable {
        public let bytes: Int
        public let inputs: [String]
        public let outputs: [String]
    }

    /// Initializer bytes above which the weights go to an external data file by themselves
    /// (1.75 GiB: the graph and the protobuf framing must fit under 2 GiB with them).
    public static let externalDataThreshold = 7 << 28

    @discardableResult
    public func run() throws -> Summary {
        let o = options
        guard let dir = o.modelDir else { throw UsageError("--model_dir is required: the checkpoint directory to export") }
        guard let out = o.out else { throw UsageError("--out is required: the .onnx file to write") }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw UsageError("--model_dir \(dir): no such directory")
        }
        let outURL = URL(fileURLWithPath: out)
        let parent = outURL.deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw UsageError("--out \(out): no such directory \(parent)")
        }
        guard FileManager.default.isWritableFile(atPath: parent) else { throw UsageError("--out \(out): the directory \(parent) is not writable") }
        if FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory), isDirectory.boolValue {
            throw UsageError("--out \(out): is a directory")
        }

        let model: MMoEModel, manifest: CheckpointManifest, store: EmbeddingStore?
        do { (model, manifest, store) = try CheckpointManifest.loadModelAndStore(from: dir) } catch { throw UsageError("--model_dir \(dir): \(error)") }
        var layout = ServingLayout(manifest), table: ExportedTable?
        if let store {
            do { table = try ExportedTable(store, config: manifest.config) } catch { throw UsageError("--model_dir \(dir): \(error.description)") }
            layout.keyed = store.kind == .dynamic
        }
        let exporter = ONNXExporter(model: model, layout: layout, taskNames: manifest.taskNames, withGates: o.withGates, table: table)
        let graph: ONNX.Model
        do { graph = try exporter.build() } catch { throw UsageError("--model_dir \(dir): \(error.description)") }
        // Protobuf messages are limited to 2 GiB, so a model whose weights come near that keeps
        // them in `<out>.data` beside the graph (ONNX external data), as `--external_data` asks
        // for any model. The data file is written first: the .onnx never names a missing file.
        let external = o.externalData || graph.initializerBytes > Self.externalDataThreshold
            ? ONNX.ExternalData(location: outURL.lastPathComponent + ".data") : nil
        let (bytes, data) = graph.encoded(external: external)
        do {
            if let external { try AtomicFile.write(data, as: external.location, in: parent) }
            try AtomicFile.write(Data(bytes), as: outURL.lastPathComponent, in: parent)
        } catch {
            throw UsageError("--out \(out): \(error.description)")
        }
        if manifest.bfloat16 {
            printError("mmoe-export: note: the model was trained with bfloat16 GEMM inputs (--bf16/--amp); the graph computes in float32, "
                       + "so its scores differ from mmoe-predict's by bfloat16 rounding")
        }
        if let sampleDir = o.sampleDir {
            try writeSample(model: model, manifest: manifest, layout: layout, store: store, keys: table?.keys, to: sampleDir)
        }
        let summary = Summary(bytes: bytes.count, inputs: graph.inputs.map(\.name), outputs: graph.outputs.map(\.name))
        printError("mmoe-export: \(manifest.config.kind.rawValue) model from \(dir) to \(out) (\(bytes.count) bytes"
                   + (external.map { ", weights in \($0.location), \(data.count) bytes" } ?? "") + "); inputs "
                   + "\(summary.inputs.joined(separator: ", ")); outputs \(summary.outputs.joined(separator: ", "))")
        return summary
    }

    /// `--sample_dir`: random rows in the model's input ranges, as the graph's `.npy` inputs, and
    /// `expected.npy` `[N, T]`: what mmoe-predict writes for them (the probability of a binary
    /// task, the value of a regression task), computed by the same `Predictor`.
    /// A keyed model's rows take half their keys from those `keys` held, half random (unknown).
    func writeSample(model: MMoEModel, manifest: CheckpointManifest, layout: ServingLayout, store: EmbeddingStore?, keys: [UInt64]?,
                     to directory: String) throws {
        var data = Self.randomRows(manifest.config, layout: layout, rows: options.sampleRows, seed: options.seed, taskNames: manifest.taskNames)
        if let keys {
            var rng = SeededRNG(seed: options.seed ^ 0x6b65_7973)
            data.keys = data.ids.map { _ in rng.next() % 2 == 0 && !keys.isEmpty ? keys[Int(rng.next() % UInt64(keys.count))] : rng.next() }
        }
        var inputs = ServingInputs(layout: layout)
        do {
            try inputs.append(data)
            try inputs.write(to: directory)
        } catch { throw UsageError("--sample_dir \(directory): \(error.description)") }
        let predictor = Predictor(model: model, tapeOptions: TapeOptions(bfloat16: manifest.bfloat16))
        let logits = try store.map { try predictor.logits(data, store: $0) } ?? predictor.logits(data)
        let values = Self.outputs(logits, types: manifest.config.resolvedTaskTypes)
        do {
            try AtomicFile.write(NumpyFile.encode(values, shape: [data.count, logits.count]), as: "expected.npy", in: directory)
        } catch { throw UsageError("--sample_dir \(directory): \(error.description)") }
    }

    /// What mmoe-predict writes for logits `[T][N]`, row-major `[N, T]`: the probability of a
    /// binary task, the raw value of a regression task.
    public static func outputs(_ logits: [[Float]], types: [TaskType]) -> [Float] {
        let n = logits.first?.count ?? 0
        var out: [Float] = []
        out.reserveCapacity(n * logits.count)
        for r in 0..<n {
            for t in logits.indices { out.append(types[t] == .binary ? Predictor.probability(logits[t][r]) : logits[t][r]) }
        }
        return out
    }

    /// `rows` random encoded rows: each one-id field a uniform row of its own range, each bag field
    /// 0 to 4 such rows, dense features uniform in [0, 1) (the range training's scaling gives).
    static func randomRows(_ c: MMoEConfig, layout: ServingLayout, rows: Int, seed: UInt64, taskNames: [String]) -> TabularData {
        var rng = SeededRNG(seed: seed)
        var start = 0
        let offsets = c.fieldRows.map { rows -> Int in defer { start += rows }; return start }
        let bagged = Set(layout.bagFields)
        var ids: [Int32] = [], bagOffsets: [Int32] = [0]
        for _ in 0..<rows {
            for f in 0..<c.fieldCount {
                let length = bagged.contains(f) ? Int(rng.next() % 5) : 1
                for _ in 0..<length { ids.append(Int32(offsets[f] + Int(rng.next() % UInt64(c.fieldRows[f])))) }
                bagOffsets.append(Int32(ids.count))
            }
        }
        let dense = (0..<(rows * c.denseWidth)).map { _ in rng.nextUniform() }
        return TabularData(count: rows, denseWidth: c.denseWidth, dense: dense, fieldCount: c.fieldCount, ids: ids,
                           taskNames: taskNames, labels: Array(repeating: 0, count: rows * taskNames.count),
                           bagOffsets: bagged.isEmpty ? nil : bagOffsets)
    }
}
