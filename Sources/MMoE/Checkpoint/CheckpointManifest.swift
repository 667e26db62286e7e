import Foundation
import Datasets
import Tensor

/// Everything besides the tensors that a checkpoint needs to be used on its own: the network's
/// shape, the data it was trained on, its task names, and how raw rows were encoded (Census: the
/// fitted vocabularies and dense ranges; Taobao: the reader options and the hash bucket sizes).
/// `mmoe-train` writes it into the `__metadata__` of every `model.safetensors` it saves, so that
/// `mmoe-predict` can rebuild the model and encode new rows exactly as in training.
///
/// Stored as string entries under `manifest.` (safetensors metadata is a map of strings), the
/// structured ones as JSON: `manifest.version`, `manifest.config` (`MMoEConfig`),
/// `manifest.dataset`, `manifest.task_names`, and `manifest.census_encoder` or
/// `manifest.taobao_encoding`.
public struct CheckpointManifest: Equatable, Sendable {
    public var config: MMoEConfig
    public var dataset: DatasetKind
    /// In logit order.
    public var taskNames: [String]
    public var encoding: Encoding
    /// Whether training (and its evaluation) rounded the GEMM inputs to bfloat16 (`--bf16`,
    /// `--amp`): prediction computes the same way, so its scores are training's evaluation's.
    /// `manifest.bfloat16`; absent = false.
    public var bfloat16 = false

    /// How raw rows of `dataset` become model inputs.
    public enum Encoding: Equatable, Sendable {
        /// The encoder fitted on the training split.
        case census(CensusEncoder)
        /// The reader options, and the hash bucket sizes the model's table was laid out for.
        case taobao(TaobaoOptions, bucketSizes: [Int])
        /// Your own data: the schema, with its transforms fitted on the training files.
        case schema(DataSchema)
        /// The built-in synthetic data: generated, never read from a file.
        case none
    }

    public init(config: MMoEConfig, dataset: DatasetKind, taskNames: [String], encoding: Encoding) {
        self.config = config
        self.dataset = dataset
        self.taskNames = taskNames
        self.encoding = encoding
    }

    /// The metadata layout this build writes and reads.
    public static let version = 1
    static let prefix = "manifest."

    private struct CensusEncoding: Codable {
        var denseMin: [Float], denseMax: [Float], capacities: [Int], values: [[String]]
        /// `--census_tasks` (absent: income,marital, the only group before the flag existed).
        var group: String?
    }

    private struct TaobaoEncoding: Codable {
        var clampPrice: Bool, bucketSizes: [Int]
    }

    /// The manifest as safetensors metadata entries.
    public var metadata: [String: String] {
        func json(_ value: some Encodable) -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            // Never used by finite values; it keeps encoding total, so it cannot fail.
            encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            return String(decoding: try! encoder.encode(value), as: UTF8.self)
        }
        var entries = [
            Self.prefix + "version": "\(Self.version)", Self.prefix + "config": json(config),
            Self.prefix + "dataset": dataset.rawValue, Self.prefix + "task_names": json(taskNames),
            Self.prefix + "bfloat16": "\(bfloat16)",
        ]
        switch encoding {
        case .census(let e):
            entries[Self.prefix + "census_encoder"] = json(CensusEncoding(denseMin: e.denseMin, denseMax: e.denseMax,
                                                                         capacities: e.capacities, values: e.values,
                                                                         group: e.group.rawValue))
        case .taobao(let options, let buckets):
            entries[Self.prefix + "taobao_encoding"] = json(TaobaoEncoding(clampPrice: options.clampPrice, bucketSizes: buckets))
        case .schema(let schema):
            entries[Self.prefix + "schema"] = schema.json
        case .none:
            break
        }
        return entries
    }

    /// Reads the manifest back from `metadata` (of the file `file`, which errors name) and checks it
    /// against this build: a config the network cannot be built from, Taobao bucket sizes other
    /// than this build's, or a Census encoder that does not match the table are errors.
    public init(metadata: [String: String], file: String) throws(ModelCheckpoint.LoadError) {
        func fail(_ why: String) -> ModelCheckpoint.LoadError { ModelCheckpoint.LoadError(description: "\(file): \(why)") }
        guard let version = metadata[Self.prefix + "version"] else {
            throw fail("no checkpoint manifest in its metadata (saved before mmoe-train wrote one?), so the model cannot be "
                       + "rebuilt from it; train and save it again with this version")
        }
        guard version == "\(Self.version)" else {
            throw fail("checkpoint manifest version \(version); this build reads version \(Self.version)")
        }
        func entry(_ name: String) throws(ModelCheckpoint.LoadError) -> String {
            guard let text = metadata[Self.prefix + name] else { throw fail("the checkpoint manifest has no \(Self.prefix)\(name)") }
            return text
        }
        func decode<T: Decodable>(_ type: T.Type, _ name: String) throws(ModelCheckpoint.LoadError) -> T {
            let text = try entry(name)
            let decoder = JSONDecoder()
            decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            do { return try decoder.decode(type, from: Data(text.utf8)) } catch {
                throw fail("manifest entry \(Self.prefix)\(name) is not readable: \(error)")
            }
        }
        config = try decode(MMoEConfig.self, "config")
        do { try config.validate() } catch { throw fail("manifest entry \(Self.prefix)config: \(error.description)") }
        let datasetName = try entry("dataset")
        guard let kind = DatasetKind(rawValue: datasetName) else { throw fail("unknown dataset \"\(datasetName)\" in the manifest") }
        dataset = kind
        taskNames = try decode([String].self, "task_names")
        switch metadata[Self.prefix + "bfloat16"] {
        case nil, "false": bfloat16 = false
        case "true": bfloat16 = true
        case let other?: throw fail("manifest entry \(Self.prefix)bfloat16 is \"\(other)\", not true or false")
        }
        guard taskNames.count == config.numTasks else {
            throw fail("the manifest names \(taskNames.count) tasks (\(taskNames.joined(separator: ", "))) for a model of \(config.numTasks)")
        }
        switch kind {
        case .census:
            let e = try decode(CensusEncoding.self, "census_encoder")
            guard let group = CensusTaskGroup(rawValue: e.group ?? CensusTaskGroup.incomeMarital.rawValue) else {
                throw fail("manifest entry \(Self.prefix)census_encoder: unknown task group \"\(e.group ?? "")\"")
            }
            let encoder: CensusEncoder
            do { encoder = try CensusEncoder(denseMin: e.denseMin, denseMax: e.denseMax, capacities: e.capacities, values: e.values, group: group) } catch {
                throw fail("manifest entry \(Self.prefix)census_encoder: \(error.description)")
            }
            guard encoder.schema.fieldRows == config.fieldRows, encoder.schema.denseNames.count == config.denseWidth else {
                throw fail("the Census encoder (\(encoder.schema.denseNames.count) dense fields, table rows \(encoder.schema.fieldRows)) "
                           + "does not match the model (\(config.denseWidth) dense, \(config.fieldRows))")
            }
            encoding = .census(encoder)
        case .taobao:
            let e = try decode(TaobaoEncoding.self, "taobao_encoding")
            guard e.bucketSizes == Taobao.bucketSizes else {
                throw fail("trained with Taobao hash bucket sizes \(e.bucketSizes); this build hashes into \(Taobao.bucketSizes), "
                           + "so its rows would land in other embedding rows")
            }
            guard config.fieldRows == Taobao.schema.fieldRows, config.denseWidth == 0 else {
                throw fail("the model's table rows \(config.fieldRows) do not match the Taobao bucket sizes \(Taobao.bucketSizes)")
            }
            encoding = .taobao(TaobaoOptions(clampPrice: e.clampPrice), bucketSizes: e.bucketSizes)
        case .schema:
            let schema: DataSchema
            do { schema = try DataSchema(json: Data(try entry("schema").utf8), file: "\(file) (manifest entry \(Self.prefix)schema)") } catch let error as DatasetError {
                throw fail(error.description)
            } catch { throw fail("\(error)") }
            guard schema.isFitted, schema.featureSchema.fieldRows == config.fieldRows, schema.denseFeatures.count == config.denseWidth,
                  schema.taskNames == taskNames else {
                throw fail("the saved schema (\(schema.denseFeatures.count) dense, table rows \(schema.featureSchema.fieldRows), tasks \(schema.taskNames)) "
                           + "does not match the model (\(config.denseWidth) dense, \(config.fieldRows), tasks \(taskNames))")
            }
            // The tags' combiners are part of the saved schema and of the model: they must agree.
            let combiners = MMoEConfig.fieldCombiners(of: schema) ?? Array(repeating: .mean, count: config.fieldCount)
            guard combiners == config.resolvedFieldCombiners else {
                throw fail("the saved schema combines its fields by \(combiners.map(\.rawValue)) but the model by \(config.resolvedFieldCombiners.map(\.rawValue))")
            }
            encoding = .schema(schema)
        case .synthetic:
            encoding = .none
        }
    }

    /// The manifest of the checkpoint in `directory`.
    public static func read(from directory: String) throws -> CheckpointManifest {
        let path = URL(fileURLWithPath: directory).appendingPathComponent(ModelCheckpoint.fileName).path
        return try CheckpointManifest(metadata: try ModelCheckpoint.metadata(in: directory), file: path)
    }

    /// The model saved in `directory`, rebuilt from its manifest (config -> network -> weights),
    /// with the manifest.
    /// The file is read and its checksum verified once, before the network is built from its
    /// header, so a damaged config cannot make the model allocate or fail strangely.
    public static func loadModel(from directory: String) throws -> (model: MMoEModel, manifest: CheckpointManifest) {
        let path = URL(fileURLWithPath: directory).appendingPathComponent(ModelCheckpoint.fileName).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw ModelCheckpoint.LoadError(description: "no \(ModelCheckpoint.fileName) there")
        }
        let file: SafeTensors.File
        do { file = try SafeTensors.read(path: path) } catch { throw ModelCheckpoint.LoadError(description: error.description) }
        let manifest = try CheckpointManifest(metadata: file.metadata, file: path)
        let model = try MMoEModel(manifest.config, seed: 0)
        try ModelCheckpoint.load(into: model, from: file)
        return (model, manifest)
    }

    /// Reads raw rows of the checkpoint's data format from `input` and encodes them as in training,
    /// handing `body` chunks of at most `chunkRows` rows in input order (`body` returns false to
    /// stop). Errors name the input, the line and the field.
    /// `keepKeys`: also the raw 64-bit keys, for a model whose rows a dynamic store keys by them
    /// (Census rows always have them).
    public func read(_ input: DataInput, chunkRows: Int, keepKeys: Bool = false, _ body: (TabularData) throws -> Bool) throws {
        switch encoding {
        case .census(let encoder): try encoder.encode(input, chunkRows: chunkRows, keepKeys: keepKeys, body)
        case .taobao(var options, _):
            options.keepKeys = keepKeys
            try Taobao.read(input, chunkRows: chunkRows, options: options, body)
        case .schema(let schema):
            // Label columns are optional here: a file to score has none.
            if case .file(let path) = input, SchemaFiles.isParquet(path) {
                try SchemaParquetReader(schema: schema, keepKeys: keepKeys, labelsRequired: false).read(paths: [path], chunkRows: chunkRows, body)
            } else {
                try SchemaReader(schema: schema, keepKeys: keepKeys, labelsRequired: false).read(input, chunkRows: chunkRows, body)
            }
        case .none: throw ModelCheckpoint.LoadError(description: "the checkpoint was trained on the built-in synthetic data, which has no file format to read")
        }
    }
}
