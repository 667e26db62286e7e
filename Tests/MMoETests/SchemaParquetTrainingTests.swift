import XCTest
import Foundation
import Tensor
@testable import Datasets
@testable import MMoE

/// `mmoe-train --schema` on Parquet files end to end: the same table as Parquet and as CSV trains
/// the same model and scores the same predictions; Parquet larger than the memory limit streams by
/// row groups; a column that cannot serve its role stops the run before anything is written;
/// `--infer_schema` proposes a schema from a Parquet file.
final class SchemaParquetTrainingTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("schema-parquet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("DatasetsTests/Fixtures/schema-parquet").path
    static func fixture(_ name: String) -> String { (fixtures as NSString).appendingPathComponent(name) }

    func train(_ arguments: [String], memoryBytes: Int? = nil) throws -> (TrainingSummary, [String]) {
        var out: [String] = []
        var command = TrainCommand(options: try TrainOptions.parse(arguments + ["--tensorboard", "false"]),
                                   print: { out.append($0) }, printError: { out.append($0) })
        if let memoryBytes { command.schemaMemoryBytes = memoryBytes }
        return (try command.run(), out)
    }

    func predict(_ model: String, _ input: String, _ output: String) throws -> PredictionSummary {
        try PredictCommand(options: try PredictOptions.parse(["--model_load_dir", model, "--input", input, "--output", output]),
                           printError: { _ in }).run()
    }

    func testParquetTrainsTheModelItsCSVTwinTrains() throws {
        var evaluations: [EvalReport] = []
        for kind in ["csv", "parquet"] {
            let (summary, out) = try train(["--schema", Self.fixture("schema.json"), "--train_files", Self.fixture("train.\(kind)"),
                                            "--test_files", Self.fixture("test.\(kind)"), "--batch_size", "16", "--train_batches", "12",
                                            "--output_dir", path("out-\(kind)"), "--model_save_dir", path("model-\(kind)")])
            XCTAssertTrue(out.contains { $0.contains("64 training rows in 1 \(kind == "parquet" ? "Parquet " : "")file (in memory), 24 test rows") },
                          out.joined(separator: "\n"))
            evaluations.append(try XCTUnwrap(summary.finalEvaluation))
        }
        XCTAssertEqual(evaluations[0].taskTypes, [.binary, .binary, .regression, .binary])
        XCTAssertEqual("\(evaluations[0].auc)", "\(evaluations[1].auc)")
        XCTAssertEqual("\(evaluations[0].loss)", "\(evaluations[1].loss)")
        // The saved schemas agree, and each model scores its own format's test file line for line the same.
        let saved = try ["csv", "parquet"].map { try CheckpointManifest.read(from: path("model-\($0)/final_checkpoint")) }
        guard case .schema(let a) = saved[0].encoding, case .schema(let b) = saved[1].encoding else { return XCTFail("no schema in a manifest") }
        XCTAssertEqual(a, b)
        let fromCSV = try predict(path("model-csv/final_checkpoint"), Self.fixture("test.csv"), path("csv.out"))
        let fromParquet = try predict(path("model-parquet/final_checkpoint"), Self.fixture("test.parquet"), path("parquet.out"))
        XCTAssertEqual(fromCSV.rows, 24)
        XCTAssertEqual(fromParquet.rows, 24)
        XCTAssertEqual(try String(contentsOfFile: path("csv.out"), encoding: .utf8), try String(contentsOfFile: path("parquet.out"), encoding: .utf8))
        // A Parquet model scores the CSV twin the same (the contract runs both ways).
        _ = try predict(path("model-parquet/final_checkpoint"), Self.fixture("test.csv"), path("cross.out"))
        XCTAssertEqual(try String(contentsOfFile: path("cross.out"), encoding: .utf8), try String(contentsOfFile: path("parquet.out"), encoding: .utf8))
    }

    func testParquetOverTheMemoryLimitStreamsByRowGroups() throws {
        try FileManager.default.createDirectory(atPath: path("data/train"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.fixture("train.parquet"), toPath: path("data/train/part-00000.parquet"))
        try FileManager.default.copyItem(atPath: Self.fixture("train.parquet"), toPath: path("data/train/part-00001.parquet"))
        FileManager.default.createFile(atPath: path("data/train/_SUCCESS"), contents: Data())
        try FileManager.default.copyItem(atPath: Self.fixture("test.parquet"), toPath: path("data/test.parquet"))
        let arguments = ["--schema", Self.fixture("schema.json"), "--data_dir", path("data"), "--batch_size", "16", "--train_batches", "16",
                         "--shuffle_window", "32", "--output_dir", path("out")]
        let (summary, out) = try train(arguments, memoryBytes: 0)
        XCTAssertTrue(out.contains { $0.contains("128 training rows in 2 Parquet files (streamed in 8 row groups, in a seeded order each epoch), 24 test rows") },
                      out.joined(separator: "\n"))
        XCTAssertEqual(summary.epochs, 2, accuracy: 1e-9)
        XCTAssertEqual(summary.finalEvaluation?.samples, 24)
        // The same seed trains the same model again (StreamedValidationTests: --valid_fraction streamed).
        let (again, _) = try train(arguments, memoryBytes: 0)
        XCTAssertEqual("\(again.finalEvaluation!.loss)", "\(summary.finalEvaluation!.loss)")
    }

    func testAColumnThatCannotServeItsRoleStopsTheRunBeforeAnythingIsWritten() throws {
        var schema = try DataSchema(contentsOf: Self.fixture("schema.json"))
        schema.features[0].column = "city"
        try schema.json.write(toFile: path("schema.json"), atomically: true, encoding: .utf8)
        let arguments = ["--schema", path("schema.json"), "--train_files", Self.fixture("train.parquet"), "--test_files", Self.fixture("test.parquet"),
                         "--output_dir", path("out"), "--model_save_dir", path("model")]
        XCTAssertThrowsError(try train(arguments)) { error in
            let e = error as? DatasetError
            XCTAssertEqual(e?.file, Self.fixture("train.parquet"))
            XCTAssertEqual(e?.field, "city")
            XCTAssertTrue(e?.message.hasPrefix("feature \"age\" (dense) cannot read this column: it is BYTE_ARRAY (strings)") ?? false, "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("model")))
        // A test file without the columns the schema reads is found before training too.
        let other = URL(fileURLWithPath: Self.fixtures).deletingLastPathComponent().appendingPathComponent("parquet/plain_v1_none.parquet").path
        XCTAssertThrowsError(try train(["--schema", Self.fixture("schema.json"), "--train_files", Self.fixture("train.parquet"),
                                        "--test_files", other, "--output_dir", path("out")])) { error in
            XCTAssertEqual((error as? DatasetError)?.file, other, "\(error)")
            XCTAssertEqual((error as? DatasetError)?.field, "age", "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out")))
    }

    func testInferSchemaOnParquetPrintsASchemaThatTrains() throws {
        let (_, out) = try train(["--infer_schema", "--train_files", Self.fixture("train.parquet")])
        let json = try XCTUnwrap(out.first { $0.hasPrefix("{") })
        let schema = try DataSchema(json: Data(json.utf8), file: "printed")
        XCTAssertEqual(schema.tasks.map(\.name), ["click", "buy"])
        XCTAssertTrue(out.contains { $0.contains("guessed from the column types and first rows") }, out.joined(separator: "\n"))
        try json.write(toFile: path("schema.json"), atomically: true, encoding: .utf8)
        let (summary, _) = try train(["--schema", path("schema.json"), "--train_files", Self.fixture("train.parquet"),
                                      "--test_files", Self.fixture("test.parquet"), "--batch_size", "16", "--train_batches", "4", "--output_dir", path("out")])
        XCTAssertEqual(summary.finalEvaluation?.samples, 24)
    }

    /// OneFlow's Census Parquet folder as a user's Parquet: the schema `--infer_schema` proposes
    /// from one part file (11 FLOAT columns dense, the 29 INT64 id columns sparse, the two
    /// `label_*` columns binary tasks), trained with OneFlow's flags for 5 epochs from `--data_dir`
    /// (train/ and test/ folders of part files), reaches the issue's AUCs for the folder.
    func testOneFlowCensusFolderTrainsWithAnInferredSchema() throws {
        let folder = CensusParquetTrainingTests.dataDirectory
        guard let parts = CensusParquet.files(in: folder) else { throw XCTSkip("no Census Parquet at \(folder)") }
        let (_, out) = try train(["--infer_schema", "--train_files", parts.train[0]])
        let json = try XCTUnwrap(out.first { $0.hasPrefix("{") })
        let schema = try DataSchema(json: Data(json.utf8), file: "printed")
        XCTAssertEqual(schema.denseFeatures.count, 11)
        XCTAssertEqual(schema.fieldFeatures.count, 29)
        XCTAssertEqual(schema.taskNames, ["label_income", "label_marital"])
        try json.write(toFile: path("schema.json"), atomically: true, encoding: .utf8)
        let stepsPerEpoch = (13_334 + 255) / 256
        let (summary, lines) = try train(["--schema", path("schema.json"), "--data_dir", folder, "--batch_size", "256",
                                          "--train_batches", "\(5 * stepsPerEpoch)", "--learning_rate", "0.001", "--embedding_vec_size", "4",
                                          "--expert_dnn", "256, 128", "--output_dir", path("out")])
        XCTAssertTrue(lines.contains { $0.contains("13334 training rows in \(parts.train.count) Parquet files (in memory), 6666 test rows") },
                      lines.joined(separator: "\n"))
        let auc = try XCTUnwrap(summary.finalEvaluation).auc
        print("Census Parquet with an inferred schema, 5 epochs: AUC income \(auc[0]), marital \(auc[1])")
        XCTAssertGreaterThan(auc[0], 0.93)
        XCTAssertGreaterThan(auc[1], 0.985)
    }
}
