import XCTest
import Foundation
@testable import Datasets
@testable import MMoE

/// `mmoe-train --schema` with a fitted vocabulary and a clipped minmax: the manifest keeps the
/// fitted values, the model's table has the vocabulary's rows, and `mmoe-predict` encodes the
/// test file as training did (its `--eval` AUC is training's final one).
final class SchemaVocabularyTrainingTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("schema-vocabulary-training-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func testTrainsSavesAndPredictsWithTheFittedVocabulary() throws {
        let json = SchemaTrainingTests.schemaJSON
            .replacingOccurrences(of: #"{"name": "age", "kind": "dense", "transform": "standardize"}"#,
                                  with: #"{"name": "age", "kind": "dense", "transform": "minmax", "clip": true}"#)
            .replacingOccurrences(of: #"{"name": "city", "kind": "sparse", "buckets": 16}"#,
                                  with: #"{"name": "city", "kind": "sparse", "buckets": 2, "vocabulary": "fit"}"#)
        XCTAssertNotEqual(json, SchemaTrainingTests.schemaJSON)
        try json.write(toFile: path("schema.json"), atomically: true, encoding: .utf8)
        try SchemaTrainingTests.rows(3000, seed: 1).write(toFile: path("train.csv"), atomically: true, encoding: .utf8)
        // The test file has a city never seen in training, and ages beyond the training range.
        let test = SchemaTrainingTests.rows(600, seed: 2).replacingOccurrences(of: ",oslo,", with: ",lima,")
            .replacingOccurrences(of: ",18\n", with: ",5\n")
        try test.write(toFile: path("test.csv"), atomically: true, encoding: .utf8)
        var out: [String] = []
        let summary = try TrainCommand(options: try TrainOptions.parse(["--schema", path("schema.json"), "--data_dir", directory.path,
                                                                        "--train_batches", "60", "--output_dir", path("out"),
                                                                        "--model_save_dir", path("model"), "--tensorboard", "false"]),
                                       print: { out.append($0) }, printError: { out.append($0) }).run()
        let e = try XCTUnwrap(summary.finalEvaluation)
        let manifest = try CheckpointManifest.read(from: path("model/final_checkpoint"))
        guard case .schema(let saved) = manifest.encoding else { return XCTFail("no schema in the manifest") }
        // Four cities seen in training: a table of max(2, 4) + 1 rows for the field.
        XCTAssertEqual(Set(saved.features[2].values ?? []), ["paris", "rome", "oslo", "new, york"])
        XCTAssertEqual(saved.featureSchema.fieldRows, [5, 32])
        XCTAssertTrue(saved.features[0].clip)
        let evaluated = try PredictCommand(options: try PredictOptions.parse(["--model_load_dir", path("model/final_checkpoint"),
                                                                              "--input", path("test.csv"), "--output", path("pred.csv"), "--eval"]),
                                           printError: { _ in }).run()
        XCTAssertEqual(evaluated.rows, 600)
        XCTAssertEqual(evaluated.auc![0], e.auc[0], accuracy: 1e-4)
    }
}
