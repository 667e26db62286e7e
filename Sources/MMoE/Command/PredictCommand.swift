import Foundation
import Tensor
import Datasets

/// What one `mmoe-predict` run did.
public struct PredictionSummary: Sendable {
    public let rows: Int
    public let taskNames: [String]
    /// Reading, encoding, predicting and writing, from the first byte read to the last written
    /// (the checkpoint load not included).
    public let seconds: Double
    /// Loading the checkpoint and rebuilding the model.
    public let loadSeconds: Double
    /// With `--eval`: each task's AUC and mean log loss against the input's labels (NaN AUC when a
    /// task's labels are all one class); nil without.
    public let auc: [Double]?, logLoss: [Double]?
    public var rowsPerSecond: Double { Double(rows) / seconds }
}

/// What `mmoe-predict` does once its arguments are parsed: load the checkpoint with its manifest,
/// stream the input through the training encoding and the eval-mode forward pass, and write one
/// CSV line of task probabilities per input row.
///
/// Nothing is written until the checks pass and the model has loaded. Output to a file goes to a
/// temporary file beside it, renamed over the file only when every row is written; on an error the
/// temporary file is removed, so a file under the `--output` name is always complete. On standard
/// output the lines of the chunks before the error have been written: a consumer must check the
/// exit status.
public struct PredictCommand {
    public let options: PredictOptions
    /// What `--input -` reads.
    public var standardInput: FileHandle = .standardInput
    /// Where the CSV goes without `--output` or with `--output -`.
    public var writeStandardOutput: (Data) throws -> Void = { data in
        do { try FileHandle.standardOutput.write(contentsOf: data) } catch {
            throw UsageError("--output -: writing to standard output failed: \(error.localizedDescription)")
        }
    }
    /// Where the summary and `--eval`'s metrics go (stderr in the CLI).
    public var printError: (String) -> Void

    public init(options: PredictOptions,
                printError: @escaping (String) -> Void = { try? FileHandle.standardError.write(contentsOf: Data(($0 + "\n").utf8)) }) {
        self.options = options
        self.printError = printError
    }

    /// Runs the whole command; the summary has also been printed to `printError`.
    @discardableResult
    public func run() throws -> PredictionSummary {
        let o = options
        guard let dir = o.modelLoadDir else { throw UsageError("--model_load_dir is required: the checkpoint directory to predict with") }
        guard let inputName = o.input else { throw UsageError("--input is required: a raw data file, or - for standard input") }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw UsageError("--model_load_dir \(dir): no such directory")
        }
        let manifest: CheckpointManifest
        do { manifest = try CheckpointManifest.read(from: dir) } catch { throw UsageError("--model_load_dir \(dir): \(error)") }
        if manifest.dataset == .synthetic {
            throw UsageError("--model_load_dir \(dir): the model was trained on the built-in synthetic data, which has no file format to predict on")
        }
        if let kind = o.dataset, kind != manifest.dataset {
            throw UsageError("--dataset \(kind.rawValue): the checkpoint in \(dir) was trained on \(manifest.dataset.rawValue) data")
        }
        let input: DataInput
        if inputName == "-" {
            input = .stream(standardInput, name: "stdin")
        } else {
            guard FileManager.default.fileExists(atPath: inputName, isDirectory: &isDirectory) else {
                throw UsageError("--input \(inputName): no such file")
            }
            guard !isDirectory.boolValue else { throw UsageError("--input \(inputName): is a directory; give a data file (or - for standard input)") }
            guard FileManager.default.isReadableFile(atPath: inputName) else { throw UsageError("--input \(inputName): cannot open the file for reading") }
            input = .file(inputName)
        }
        let outputPath = o.output == "-" ? nil : o.output
        if let outputPath {
            let parent = URL(fileURLWithPath: outputPath).deletingLastPathComponent().path
            guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw UsageError("--output \(outputPath): no such directory \(parent)")
            }
        }

        Parallel.threads = o.threads
        let loadStart = DispatchTime.now().uptimeNanoseconds
        let model: MMoEModel, store: EmbeddingStore?
        do { (model, _, store) = try CheckpointManifest.loadModelAndStore(from: dir) } catch { throw UsageError("--model_load_dir \(dir): \(error)") }
        var servingInputs = try o.emitInputs.map { try Self.servingInputs(manifest, store: store, directory: $0) }
        let loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - loadStart) / 1e9
        // Training never saves non-finite weights; a model that has them (damaged or forged) would score NaN.
        guard Kernels.allFinite(model.parameters.values) && (model.embedding.map { Kernels.allFinite($0.value) } ?? true) else {
            throw UsageError("--model_load_dir \(dir): the model's weights are not all finite (NaN or infinite); it cannot predict")
        }

        let start = DispatchTime.now().uptimeNanoseconds
        let sink = try OutputSink(path: outputPath, standardOutput: writeStandardOutput)
        let tasks = manifest.taskNames
        var rows = 0
        var logits = [[Float]](repeating: [], count: tasks.count), labels = [[Float]](repeating: [], count: tasks.count)
        do {
            // The header goes out with the first chunk's lines, so input in the wrong format writes nothing.
            var pending = Data((tasks.joined(separator: ",") + "\n").utf8)
            let predictor = Predictor(model: model, tapeOptions: TapeOptions(bfloat16: manifest.bfloat16), chunkRows: o.batchSize)
            // Each chunk is encoded, predicted and formatted on all cores in turn.
            let keys = store.map { $0.kind == .dynamic || $0.kind == .adaptive } ?? false
            try manifest.read(input, chunkRows: o.batchSize, keepKeys: keys) { chunk in
                let part = try store.map { try predictor.logits(chunk, store: $0) } ?? predictor.logits(chunk)
                pending.append(Self.csvLines(part, regression: manifest.config.resolvedTaskTypes.map { $0 == .regression }))
                do { try servingInputs?.append(chunk) } catch { throw UsageError("--emit_inputs: \(error)") }
                try sink.write(pending)
                pending = Data()
                rows += chunk.count
                if o.eval {
                    for t in 0..<tasks.count {
                        logits[t] += part[t]
                        labels[t] += (0..<chunk.count).map { chunk.labels[$0 * chunk.taskCount + t] }
                    }
                }
                return true
            }
            if !pending.isEmpty { try sink.write(pending) }
            do { try servingInputs?.write(to: o.emitInputs!) } catch { throw UsageError("--emit_inputs \(o.emitInputs!): \(error)") }
            try sink.finish()
        } catch {
            sink.abandon()
            throw error
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        var auc: [Double]?, logLoss: [Double]?
        if o.eval {
            // A missing label (an empty cell of a --schema file: NaN) is left out of its task's metrics.
            let labelled = (0..<tasks.count).map { t in labels[t].indices.filter { !labels[t][$0].isNaN } }
            let scores = (0..<tasks.count).map { t in labelled[t].map { logits[t][$0] } }, known = (0..<tasks.count).map { t in labelled[t].map { labels[t][$0] } }
            auc = (0..<tasks.count).map { Metrics.auc(scores: scores[$0], labels: known[$0]) }
            logLoss = (0..<tasks.count).map { known[$0].isEmpty ? .nan : Metrics.logLoss(logits: scores[$0], labels: known[$0]) }
        }
        let summary = PredictionSummary(rows: rows, taskNames: tasks, seconds: seconds, loadSeconds: loadSeconds, auc: auc, logLoss: logLoss)
        printError(Self.summaryLine(summary, input: input.name, output: outputPath ?? "stdout"))
        return summary
    }

    /// `mmoe-predict: 6666 rows from FILE to OUT in 0.12 s (55000 rows/s; load 0.01 s); AUC_income 0.9, ...`
    static func summaryLine(_ s: PredictionSummary, input: String, output: String) -> String {
        var line = "mmoe-predict: \(s.rows) rows from \(input) to \(output) in \(String(format: "%.3f", s.seconds)) s "
            + "(\(Int(s.rowsPerSecond.isFinite ? s.rowsPerSecond.rounded() : 0)) rows/s; model load \(String(format: "%.3f", s.loadSeconds)) s)"
        if let auc = s.auc, let logLoss = s.logLoss {
            line += "; " + zip(s.taskNames, auc).map { "AUC_\($0) \(String(format: "%.6f", $1))" }.joined(separator: ", ")
                + ", " + zip(s.taskNames, logLoss).map { "Loss_\($0) \(String(format: "%.6f", $1))" }.joined(separator: ", ")
        }
        return line
    }

    /// One CSV line per row of `logits` (`[T][n]`): each task's probability, formatted in parallel
    /// row ranges and joined in row order.
    /// A regression task's column is its predicted value instead.
    static func csvLines(_ logits: [[Float]], regression: [Bool] = []) -> Data {
        let n = logits.first?.count ?? 0
        let parts = max(1, min(Parallel.threads, n / 512))
        let texts = (0..<parts).map { _ in TextBuffer() }
        Parallel.forEach(parts) { p in
            let rows = (p * n / parts)..<((p + 1) * n / parts)
            var text = ""
            text.reserveCapacity(rows.count * logits.count * 12)
            for r in rows {
                for t in logits.indices {
                    if t > 0 { text += "," }
                    text += (t < regression.count && regression[t] ? logits[t][r] : Predictor.probability(logits[t][r])).description
                }
                text += "\n"
            }
            texts[p].text = text
        }
        var data = Data()
        for t in texts { data.append(contentsOf: t.text.utf8) }
        return data
    }

    /// One shard's text, written by that shard's thread alone.
    private final class TextBuffer: @unchecked Sendable {
        var text = ""
    }
}

/// Where the CSV goes: standard output as it comes, or a temporary file beside `path` that is
/// renamed to `path` by `finish()` and removed by `abandon()`.
private final class OutputSink {
    let path: String?
    let temporary: String?
    let handle: FileHandle?
    let standardOutput: (Data) throws -> Void

    init(path: String?, standardOutput: @escaping (Data) throws -> Void) throws {
        self.path = path
        self.standardOutput = standardOutput
        guard let path else {
            temporary = nil
            handle = nil
            return
        }
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial-\(ProcessInfo.processInfo.processIdentifier)").path
        guard FileManager.default.createFile(atPath: temporary, contents: nil), let handle = FileHandle(forWritingAtPath: temporary) else {
            throw UsageError("--output \(path): cannot create \(temporary) to write into")
        }
        self.temporary = temporary
        self.handle = handle
    }

    func write(_ data: Data) throws {
        guard let handle else { return try standardOutput(data) }
        do { try handle.write(contentsOf: data) } catch { throw UsageError("--output \(path!): write failed: \(error)") }
    }

    func finish() throws {
        guard let handle, let temporary, let path else { return }
        do {
            try handle.synchronize()
            try handle.close()
        } catch { throw UsageError("--output \(path): cannot complete the file: \(error)") }
        // rename(2) replaces an existing file in one step, so `path` is never missing or partial.
        guard rename(temporary, path) == 0 else {
            throw UsageError("--output \(path): cannot rename \(temporary) to it: \(String(cString: strerror(errno)))")
        }
    }

    func abandon() {
        try? handle?.close()
        if let temporary { try? FileManager.default.removeItem(atPath: temporary) }
    }
}
