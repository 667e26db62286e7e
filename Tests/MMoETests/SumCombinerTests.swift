import XCTest
import Foundation
import Tensor
@testable import Datasets
@testable import MMoE

/// A schema's `"combiner": "sum"` tags, end to end: the model pools that field by the sum of its
/// rows in training, the combiner is saved (in the schema and the model's configuration) and used
/// by `mmoe-predict`, and `mmoe-export`'s graph sums that field where it averages a mean one
/// (checked in onnxruntime when Python has it). A mean-combined model keeps its saved configuration.
final class SumCombinerTests: XCTestCase {
    /// `SchemaTrainingTests.schemaJSON` with the tags summed: fields city (sparse) and tags (sum).
    static let schemaJSON = SchemaTrainingTests.schemaJSON.replacingOccurrences(
        of: #""separator": "|", "buckets": 32}"#, with: #""separator": "|", "buckets": 32, "combiner": "sum"}"#)

    func write(_ directory: String, schema: String = schemaJSON) throws {
        try schema.write(toFile: directory + "/schema.json", atomically: true, encoding: .utf8)
        try SchemaTrainingTests.rows(600, seed: 1).write(toFile: directory + "/train.csv", atomically: true, encoding: .utf8)
        try SchemaTrainingTests.rows(200, seed: 2).write(toFile: directory + "/test.csv", atomically: true, encoding: .utf8)
        try SchemaTrainingTests.rows(120, seed: 3, labels: false).write(toFile: directory + "/score.csv", atomically: true, encoding: .utf8)
    }

    /// Trains `kind` a few steps on the files in `directory` and returns the saved model's directory.
    func train(_ directory: String, _ kind: ModelKind = .mmoe, extra: [String] = []) throws -> (String, TrainingSummary) {
        let arguments = ["--schema", directory + "/schema.json", "--data_dir", directory, "--batch_size", "50", "--train_batches", "12",
                         "--embedding_vec_size", "3", "--threads", "1", "--loss_print_interval", "1000", "--tensorboard", "false",
                         "--output_dir", directory + "/out-\(kind.rawValue)", "--model_save_dir", directory + "/model-\(kind.rawValue)"]
            + ONNXExportTests.kindFlags(kind) + extra
        let summary = try TrainCommand(options: try TrainOptions.parse(arguments), print: { _ in }, printError: { _ in }).run()
        return (directory + "/model-\(kind.rawValue)/final_checkpoint", summary)
    }

    /// The rows of `path` encoded with a saved model's schema.
    func encoded(_ path: String, _ schema: DataSchema) throws -> TabularData {
        var parts: [TabularData] = []
        try SchemaReader(schema: schema, labelsRequired: false).read(.file(path)) { parts.append($0); return true }
        return try XCTUnwrap(TabularData.concatenating(parts))
    }

    /// Every model kind trains with a summed tags field and saves it; the saved model's input for
    /// the tags field is the plain sum of the tag rows (the mean for a model that asks for it), and
    /// mmoe-predict scores a file with exactly the model's outputs.
    func testSumTagsTrainSaveAndPredictForEveryKind() throws {
        let dir = try PredictFixture.temporaryDirectory(self)
        try write(dir)
        for kind in ModelKind.allCases {
            let (checkpoint, summary) = try train(dir, kind)
            XCTAssertTrue(summary.finalEvaluation?.auc[0].isFinite ?? false, kind.rawValue)
            let (model, manifest) = try CheckpointManifest.loadModel(from: checkpoint)
            XCTAssertEqual(model.config.fieldNames, ["city", "tags"], kind.rawValue)
            XCTAssertEqual(model.config.fieldCombiners, [.mean, .sum], kind.rawValue)
            guard case .schema(let saved) = manifest.encoding else { return XCTFail("no schema in the manifest") }
            XCTAssertEqual(saved.features.first { $0.name == "tags" }?.combiner, .sum, kind.rawValue)

            let rows = try encoded(dir + "/score.csv", saved)
            let batch = Batch(rows, rows: 0..<rows.count)
            let x = model.input(batch, tape: Tape(recording: false)).value                        // [B, 2·3 + 2]
            let table = model.embedding!.value, d = 3
            var multi = 0
            for r in 0..<rows.count {
                let tags = rows.ids(row: r, field: 1)
                if tags.count > 1 { multi += 1 }
                var sum = [Float](repeating: 0, count: d)
                for id in tags { for j in 0..<d { sum[j] += table[Int(id), j] } }
                XCTAssertEqual((0..<d).map { x[r, d + $0] }, sum, "\(kind.rawValue) row \(r): the tags field is the sum of its rows")
            }
            XCTAssertGreaterThan(multi, 10, "rows with two tags, where sum and mean differ")
            // One lookup per field (--emb_fusion False) pools each field by its own combiner too.
            model.fuseEmbeddingLookups = false
            XCTAssertEqual(model.input(batch, tape: Tape(recording: false)).value.scalars, x.scalars, kind.rawValue)
            model.fuseEmbeddingLookups = true

            let output = dir + "/pred-\(kind.rawValue).csv"
            _ = try PredictFixture.predict(["--model_load_dir", checkpoint, "--input", dir + "/score.csv", "--output", output])
            let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").dropFirst()
            let logits = Predictor(model: model).logits(rows)
            XCTAssertEqual(lines.count, rows.count)
            for (r, line) in lines.enumerated() {
                let values = line.split(separator: ",").map { Float($0)! }
                XCTAssertEqual(values, [Predictor.probability(logits[0][r]), Predictor.probability(logits[1][r]), logits[2][r]],
                               "\(kind.rawValue) row \(r)")
            }
        }
    }

    /// A mean-combined schema model saves no combiners (its configuration is as before sum bags),
    /// pools its tags by their mean, and a manifest whose model and schema disagree on a combiner
    /// is refused.
    func testMeanTagsKeepTheirConfigurationAndDisagreementIsRefused() throws {
        let dir = try PredictFixture.temporaryDirectory(self)
        try write(dir, schema: SchemaTrainingTests.schemaJSON)
        let (checkpoint, _) = try train(dir)
        let metadata = try ModelCheckpoint.metadata(in: checkpoint)
        XCTAssertFalse(try XCTUnwrap(metadata["manifest.config"]).contains("fieldCombiners"))
        let (model, manifest) = try CheckpointManifest.loadModel(from: checkpoint)
        XCTAssertNil(model.config.fieldCombiners)
        guard case .schema(let saved) = manifest.encoding else { return XCTFail("no schema in the manifest") }
        let rows = try encoded(dir + "/score.csv", saved)
        let x = model.input(Batch(rows, rows: 0..<rows.count), tape: Tape(recording: false)).value
        let table = model.embedding!.value, d = 3
        for r in 0..<rows.count {
            let tags = rows.ids(row: r, field: 1)
            var sum = [Float](repeating: 0, count: d)
            for id in tags { for j in 0..<d { sum[j] += table[Int(id), j] } }
            if tags.count > 1 { for j in 0..<d { sum[j] *= 1 / Float(tags.count) } }
            XCTAssertEqual((0..<d).map { x[r, d + $0] }, sum, "row \(r): the tags field is the mean of its rows")
        }

        // The model says sum, its schema mean: refused, naming both.
        var config = model.config
        config.fieldCombiners = [.mean, .sum]
        var edited = metadata
        edited["manifest.config"] = CheckpointManifest(config: config, dataset: .schema, taskNames: manifest.taskNames,
                                                       encoding: manifest.encoding).metadata["manifest.config"]
        XCTAssertThrowsError(try CheckpointManifest(metadata: edited, file: "m.safetensors")) { error in
            XCTAssertTrue("\(error)".contains("combines its fields by [\"mean\", \"mean\"] but the model by [\"mean\", \"sum\"]"), "\(error)")
        }
        // A combiner list of the wrong length is no model.
        config.fieldCombiners = [.sum]
        XCTAssertThrowsError(try config.validate()) { XCTAssertTrue("\($0)".contains("1 field combiners for 2 sparse fields"), "\($0)") }
    }

    /// The exported graph sums a summed field: no division by the bag length when every bag field
    /// sums, a per-field mask when summed and averaged fields meet, the plain mean graph otherwise;
    /// onnxruntime scores the mixed model's sample rows and mmoe-predict's own arrays of a file as
    /// the Swift model does (`Scripts/check_onnx.py`; skipped without onnxruntime or the binaries).
    func testExportSumsTheFieldAndOnnxRuntimeAgrees() throws {
        // Sum only; summed and averaged tags of one column (mixed); mean only.
        let mixed = Self.schemaJSON.replacingOccurrences(of: #""combiner": "sum"}"#, with:
            #""combiner": "sum"}, {"name": "tags_mean", "column": "tags", "kind": "tags", "separator": "|", "buckets": 8}"#)
        var models: [(name: String, checkpoint: String, input: String)] = []
        for (name, schema) in [("sum", Self.schemaJSON), ("mixed", mixed), ("mean", SchemaTrainingTests.schemaJSON)] {
            let dir = try PredictFixture.temporaryDirectory(self)
            try write(dir, schema: schema)
            models.append((name, try train(dir).0, dir + "/score.csv"))
        }
        let out = try PredictFixture.temporaryDirectory(self) + "/m.onnx"
        for (name, checkpoint, _) in models {
            let summary = try ExportCommand(options: try ExportOptions.parse(["--model_dir", checkpoint, "--out", out]), printError: { _ in }).run()
            XCTAssertEqual(summary.inputs, ["sparse_ids", "tag_ids", "dense"], name)
            let d = try ONNXExportTests.decode(Array(try Data(contentsOf: URL(fileURLWithPath: out))))
            let tagFields = name == "mixed" ? "2" : "1"
            XCTAssertEqual(d.inputs.map(\.dims), [["batch", "1"], ["batch", tagFields, "tag_length"], ["batch", "2"]], name)
            XCTAssertTrue(d.opTypes.contains("ReduceSum"), name)
            XCTAssertEqual(d.opTypes.contains("Div"), name != "sum", "\(name): only averaged bags are divided by their length")
            let mask = try d.initializers["/bag_is_mean"].map { try ProtobufReader.packedFloats($0.raw) }
            XCTAssertEqual(mask, name == "mixed" ? [0, 1] : nil, "\(name): the mask keeps the summed field's length out")
        }

        guard PythonScripts.canImport("onnx, onnxruntime, numpy") else {
            throw XCTSkip("python3 with onnx, onnxruntime and numpy not found (pip install onnx onnxruntime numpy)")
        }
        let bundle = Bundle(for: Self.self).bundleURL
        guard let bin = [bundle, bundle.deletingLastPathComponent()].first(where: {
            FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("mmoe-export").path)
                && FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("mmoe-predict").path)
        }) else { throw XCTSkip("no mmoe-export and mmoe-predict binaries next to the tests in \(bundle.path)") }
        for (name, checkpoint, input) in models where name == "mixed" {
            let (status, text) = try PythonScripts.run([PythonScripts.path("check_onnx.py"), "--model_dir", checkpoint, "--bin", bin.path,
                                                         "--work", try PredictFixture.temporaryDirectory(self), "--sample_rows", "300",
                                                         "--input", input])
            XCTAssertEqual(status, 0, "\(name):\n\(text)")
            XCTAssertTrue(text.contains("check_onnx: all outputs agree") && text.contains("mmoe-predict: "), "\(name):\n\(text)")
        }
    }
}
