import XCTest
import Foundation
import Tensor
@testable import Datasets
@testable import MMoE

/// `mmoe-train --schema` end to end on small generated files: training with mixed task types,
/// the fitted schema saved in the model and used by `mmoe-predict` (label columns optional), the
/// flag and bad-input errors (nothing written), `--infer_schema`, and the Census rows rewritten as a
/// user's CSV reaching the built-in Census path's AUCs.
final class SchemaTrainingTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("schema-training-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static let schemaJSON = """
        {"delimiter": ",", "header": true,
         "features": [
          {"name": "age", "kind": "dense", "transform": "standardize"},
          {"name": "log_price", "kind": "dense", "column": "price", "transform": "log1p"},
          {"name": "city", "kind": "sparse", "buckets": 16},
          {"name": "tags", "kind": "tags", "separator": "|", "buckets": 32}
         ],
         "tasks": [
          {"name": "ctr", "column": "click", "type": "binary"},
          {"name": "cvr", "column": "buy", "type": "binary", "condition": "ctr", "weight": 0.5},
          {"name": "hours", "type": "regression"}
         ]}
        """

    /// Rows whose click depends on age, city and tags; a quoted city with a comma, an empty tag list.
    static func rows(_ n: Int, seed: UInt64, labels: Bool = true) -> String {
        var rng = SeededRNG(seed: seed)
        var text = labels ? "price,hours,tags,buy,click,city,age\n" : "tags,city,age,price\n"
        let cities = ["paris", "rome", "oslo", "\"new, york\""]
        for _ in 0 ..< n {
            let age = 18 + Int(rng.nextUniform() * 60), city = Int(rng.nextUniform() * 4) % 4
            let hasA = rng.nextUniform() < 0.5, hasB = rng.nextUniform() < 0.5
            let tags = [hasA ? "a" : nil, hasB ? "b" : nil].compactMap { $0 }.joined(separator: "|")
            let z = 0.08 * Float(age - 45) + (city == 0 ? 1.5 : -0.5) + (hasA ? 1 : -1)
            let click = rng.nextUniform() < 1 / (1 + exp(-z)) ? 1 : 0
            let buy = rng.nextUniform() < (click == 1 ? 0.6 : 0.2) ? 1 : 0
            let hours = 0.1 * Float(age) + (hasB ? 2 : 0) + 0.1 * rng.nextNormal()
            let price = String(format: "%.2f", rng.nextUniform() * 500)
            text += labels ? "\(price),\(hours),\(tags),\(buy),\(click),\(cities[city]),\(age)\n" : "\(tags),\(cities[city]),\(age),\(price)\n"
        }
        return text
    }

    func train(_ arguments: [String]) throws -> (TrainingSummary, [String]) {
        var out: [String] = []
        let summary = try TrainCommand(options: try TrainOptions.parse(arguments + ["--tensorboard", "false"]),
                                       print: { out.append($0) }, printError: { out.append($0) }).run()
        return (summary, out)
    }

    func testTrainsSavesAndPredictsWithTheSavedSchema() throws {
        try Self.schemaJSON.write(toFile: path("schema.json"), atomically: true, encoding: .utf8)
        try Self.rows(3000, seed: 1).write(toFile: path("train.csv"), atomically: true, encoding: .utf8)
        try Self.rows(600, seed: 2).write(toFile: path("test.csv"), atomically: true, encoding: .utf8)
        let (summary, out) = try train(["--schema", path("schema.json"), "--data_dir", directory.path, "--train_batches", "120",
                                        "--output_dir", path("out"), "--model_save_dir", path("model")])
        let e = try XCTUnwrap(summary.finalEvaluation)
        XCTAssertEqual(e.taskTypes, [.binary, .binary, .regression])
        XCTAssertGreaterThan(e.auc[0], 0.75, "ctr should be learnable from age, city and tags")
        XCTAssertTrue(out.contains { $0.contains("3000 training rows") && $0.contains("cvr (binary, weight 0.5, on ctr = 1)") }, out.joined(separator: "\n"))
        // The manifest holds the fitted schema; prediction on a file without label columns, columns reordered.
        let manifest = try CheckpointManifest.read(from: path("model/final_checkpoint"))
        guard case .schema(let saved) = manifest.encoding else { return XCTFail("no schema in the manifest") }
        XCTAssertTrue(saved.isFitted)
        XCTAssertEqual(manifest.dataset, .schema)
        try Self.rows(50, seed: 3, labels: false).write(toFile: path("score.csv"), atomically: true, encoding: .utf8)
        let command = PredictCommand(options: try PredictOptions.parse(["--model_load_dir", path("model/final_checkpoint"),
                                                                          "--input", path("score.csv"), "--output", path("pred.csv")]),
                                     printError: { _ in })
        let result = try command.run()
        XCTAssertEqual(result.rows, 50)
        let lines = try String(contentsOfFile: path("pred.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.first, "ctr,cvr,hours")
        XCTAssertEqual(lines.count, 51)
        // Probabilities for the binary tasks, a value on the label's scale for the regression one.
        let hours = lines.dropFirst().map { Float($0.split(separator: ",")[2])! }
        XCTAssertGreaterThan(hours.reduce(0, +) / Float(hours.count), 2)
        // Prediction with --eval on the labelled test file gives training's final AUCs.
        let evaluated = try PredictCommand(options: try PredictOptions.parse(["--model_load_dir", path("model/final_checkpoint"),
                                                                              "--input", path("test.csv"), "--output", path("pred2.csv"), "--eval"]),
                                           printError: { _ in }).run()
        XCTAssertEqual(evaluated.auc![0], e.auc[0], accuracy: 1e-4)
    }

    func testStreamsTrainingFilesInSlicesWhenOverTheMemoryLimit() throws {
        try Self.schemaJSON.write(toFile: path("schema.json"), atomically: true, encoding: .utf8)
        try Self.rows(2000, seed: 1).write(toFile: path("part-a.csv"), atomically: true, encoding: .utf8)
        try Self.rows(2000, seed: 4).write(toFile: path("part-b.csv"), atomically: true, encoding: .utf8)
        try Self.rows(500, seed: 2).write(toFile: path("t.csv"), atomically: true, encoding: .utf8)
        let options = try TrainOptions.parse(["--schema", path("schema.json"), "--train_files", path("part-*.csv"),
                                              "--test_files", path("t.csv"), "--batch_size", "100", "--train_batches", "80",
                                              "--output_dir", path("out"), "--tensorboard", "false"])
        var out: [String] = []
        var command = TrainCommand(options: options, print: { out.append($0) }, printError: { out.append($0) })
        command.schemaMemoryBytes = 0
        let summary = try command.run()
        XCTAssertTrue(out.contains { $0.contains("4000 training rows in 2 files (streamed in") }, out.joined(separator: "\n"))
        XCTAssertEqual(summary.epochs, 2, accuracy: 1e-9)
        XCTAssertGreaterThan(summary.finalEvaluation!.auc[0], 0.75)
        // Slices cut at record starts cover every row once, across files.
        let scan = try SchemaScan(schema: try DataSchema(contentsOf: path("schema.json")), paths: [path("part-a.csv"), path("part-b.csv")],
                                  keepRows: false, sliceBytes: 20_000)
        XCTAssertEqual(scan.rows, 4000)
        XCTAssertGreaterThanOrEqual(scan.files.map(\.slices.count).reduce(0, +), 4)
    }

    func testValidationFilesLoadWithTheFittedSchema() throws {
        try Self.schemaJSON.write(toFile: path("schema.json"), atomically: true, encoding: .utf8)
        try Self.rows(500, seed: 1).write(toFile: path("train.csv"), atomically: true, encoding: .utf8)
        try Self.rows(100, seed: 2).write(toFile: path("test.csv"), atomically: true, encoding: .utf8)
        try Self.rows(70, seed: 5).write(toFile: path("valid.csv"), atomically: true, encoding: .utf8)
        // A valid.csv beside the others is not taken on its own: a validation set is asked for.
        let plain = try TrainOptions.parse(["--schema", path("schema.json"), "--data_dir", directory.path])
        let none = try TrainCommand(options: plain, print: { _ in }).loadSchemaData(plain.resolved(for: .schema))
        XCTAssertNil(none.valid)
        let options = try TrainOptions.parse(["--schema", path("schema.json"), "--data_dir", directory.path, "--valid_files", path("valid.csv")])
        let data = try TrainCommand(options: options, print: { _ in }).loadSchemaData(options.resolved(for: .schema))
        XCTAssertEqual(data.validRows, 70)
        var rows = 0
        try data.valid?.chunks { chunk in
            rows += chunk.count
            XCTAssertEqual(chunk.taskNames, ["ctr", "cvr", "hours"])
        }
        XCTAssertEqual(rows, 70)
        XCTAssertEqual(data.schema?.tasks.map(\.weight), [1, 0.5, 1])
        XCTAssertEqual(data.schema?.tasks.map(\.condition), [nil, "ctr", nil])
        // The schema's weights and conditions reach the trainer's task settings.
        XCTAssertEqual(data.taskLoss?.weights, [1, 0.5, 1])
        XCTAssertEqual(data.taskLoss?.conditions, [nil, 0, nil])
        // --valid_fraction holds out training rows of in-memory schema data.
        let fraction = try TrainOptions.parse(["--schema", path("schema.json"), "--data_dir", directory.path, "--valid_fraction", "0.2"])
        let split = try TrainCommand(options: fraction, print: { _ in }).loadSchemaData(fraction.resolved(for: .schema))
        XCTAssertEqual(split.trainRows + split.validRows, 500)
        XCTAssertGreaterThan(split.validRows, 50)
        XCTAssertLessThan(split.validRows, 150)
        // --valid_files names them explicitly; a bad one is an error naming the flag.
        let missing = try TrainOptions.parse(["--schema", path("schema.json"), "--data_dir", directory.path, "--valid_files", path("nope.csv")])
        XCTAssertThrowsError(try TrainCommand(options: missing, print: { _ in }).loadSchemaData(missing)) {
            XCTAssertTrue("\($0)".contains("--valid_files: no such file"), "\($0)")
        }
    }

    func testBadInputStopsBeforeAnythingIsWritten() throws {
        try Self.schemaJSON.write(toFile: path("schema.json"), atomically: true, encoding: .utf8)
        try Self.rows(100, seed: 2).write(toFile: path("test.csv"), atomically: true, encoding: .utf8)
        var bad = Self.rows(200, seed: 1)
        bad += "12.5,1,a,0,1,paris,forty\n"
        try bad.write(toFile: path("train.csv"), atomically: true, encoding: .utf8)
        let args = ["--schema", path("schema.json"), "--data_dir", directory.path, "--output_dir", path("out"), "--model_save_dir", path("model")]
        XCTAssertThrowsError(try train(args)) { error in
            let e = error as? DatasetError
            XCTAssertEqual(e?.line, 202)
            XCTAssertEqual(e?.field, "age (column 7)")
            XCTAssertTrue(e?.message.contains("\"forty\"") ?? false, "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("model")))
        // A bad test file is found before training too.
        try Self.rows(200, seed: 1).write(toFile: path("train.csv"), atomically: true, encoding: .utf8)
        try "price,hours,tags,buy,click,city\n1,2,a,0,1,rome\n".write(toFile: path("test.csv"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try train(args)) { error in
            XCTAssertEqual((error as? DatasetError)?.field, "age", "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out")))
        // Flags: the schema's task count and types, file flags without a schema, a schema that is not JSON.
        XCTAssertThrowsError(try train(args + ["--num_tasks", "2"])) { XCTAssertTrue("\($0)".contains("declares 3 tasks"), "\($0)") }
        XCTAssertThrowsError(try train(args + ["--task_types", "binary,binary,binary"])) { XCTAssertTrue("\($0)".contains("declares binary,binary,regression"), "\($0)") }
        XCTAssertThrowsError(try train(["--train_files", path("train.csv")])) { XCTAssertTrue("\($0)".contains("needs --schema"), "\($0)") }
        try "{\"features\": [".write(toFile: path("broken.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try train(["--schema", path("broken.json"), "--data_dir", directory.path])) {
            XCTAssertTrue("\($0)".contains("broken.json") && "\($0)".contains("not valid JSON"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out")))
    }

    func testInferSchemaPrintsASchemaThatTrains() throws {
        try Self.rows(300, seed: 1).write(toFile: path("train.csv"), atomically: true, encoding: .utf8)
        let (_, out) = try train(["--infer_schema", "--train_files", path("train.csv")])
        let json = out.first { $0.hasPrefix("{") }!
        let schema = try DataSchema(json: Data(json.utf8), file: "printed")
        XCTAssertEqual(schema.tasks.map(\.name), ["buy", "click"])
        XCTAssertEqual(schema.features.first { $0.name == "tags" }?.kind, .tags)
        XCTAssertEqual(schema.features.first { $0.name == "city" }?.kind, .sparse)
        XCTAssertEqual(schema.features.first { $0.name == "hours" }?.kind, .dense)
        XCTAssertEqual(schema.features.first { $0.name == "age" }?.transform, .standardize)
        XCTAssertTrue(out.contains { $0.contains("starting point") })
    }

    /// The shared Census rows rewritten as a user's CSV (a header, the columns in reverse order,
    /// quoted values, labels as 0/1 and strings, a tag column, a tenth of the marital labels
    /// blank): trained through a schema with the built-in path's features (the same dense columns
    /// scaled by min/max, the same sparse columns hashed, plus the tags) and the same flags, the
    /// test AUCs are the built-in path's within 0.003, and marital's metrics count only its
    /// labelled rows. This is issue 13's "done when" with the built-in path's inputs and tasks.
    func testCensusAsUserCSVMatchesTheBuiltInPath() throws {
        let census = CensusTrainingTests.dataDirectory
        guard let files = CensusIncome.files(in: census), let testFile = files.test else { throw XCTSkip("no Census-income data at \(census)") }
        let columns = CensusIncome.columnNames
        func convert(_ source: String, _ target: String) throws -> Int {
            var text = (columns.reversed() + ["origin"]).joined(separator: ",") + "\n"
            var row = 0, labelled = 0
            try ChunkReader(path: source).forEachLine { bytes, range, _ in
                let fields = String(decoding: bytes[range], as: UTF8.self).split(separator: ",", omittingEmptySubsequences: false)
                    .map { $0.trimmingCharacters(in: .whitespaces) }
                guard fields.count == columns.count else { return true }
                row += 1
                if row % 10 != 0 { labelled += 1 }
                var cells = fields.enumerated().map { i, v -> String in
                    if columns[i] == "income_50k" { return v.hasPrefix("50000+") ? "1" : "0" }
                    if columns[i] == "marital_stat" && row % 10 == 0 { return "" }
                    return i % 3 == 0 ? "\"\(v)\"" : v
                }
                cells.reverse()
                cells.append("\(fields[columns.firstIndex(of: "race")!])|\(fields[columns.firstIndex(of: "sex")!])")
                text += cells.joined(separator: ",") + "\n"
                return true
            }
            try text.write(toFile: target, atomically: true, encoding: .utf8)
            return labelled
        }
        _ = try convert(files.train, path("train.csv"))
        let labelledTest = try convert(testFile, path("test.csv"))
        let dense = CensusIncome.denseNames.map { #"{"name": "\#($0)", "kind": "dense", "transform": "minmax"}"# }
        let sparse = CensusIncome.sparseNames.map { #"{"name": "\#($0)", "kind": "sparse", "buckets": 1024}"# }
        let tags = [#"{"name": "origin", "kind": "tags", "separator": "|", "buckets": 64}"#]
        let schema = """
            {"features": [\((dense + sparse + tags).joined(separator: ",\n"))],
             "tasks": [{"name": "income", "column": "income_50k"}, {"name": "marital", "column": "marital_stat", "positive": ["Never married"]}]}
            """
        try schema.write(toFile: path("census.json"), atomically: true, encoding: .utf8)
        let common = ["--train_batches", "159", "--embedding_vec_size", "4", "--loss_print_interval", "1000"]
        let (builtIn, _) = try train(common + ["--data_dir", census, "--output_dir", path("a")])
        let (own, _) = try train(common + ["--schema", path("census.json"), "--data_dir", directory.path, "--output_dir", path("b")])
        let a = builtIn.finalEvaluation!.auc, b = own.finalEvaluation!
        print("Census built-in AUC \(a), as a user's CSV with a schema, a tag column and blank marital labels \(b.auc)")
        XCTAssertEqual(b.auc[0], a[0], accuracy: 0.003)
        XCTAssertEqual(b.auc[1], a[1], accuracy: 0.003)
        XCTAssertEqual(b.taskSamples, [b.samples, labelledTest])
    }

    /// Issue 13's "done when" with three tasks: the Census rows as a user's CSV (a header, columns
    /// in another order, quoted cells), income, marital and education as three tasks, a tag column,
    /// and a tenth of the marital labels blank. Each task is held to the built-in path that reads
    /// the same inputs, within 0.003: marital to `income,marital`, education to
    /// `--census_tasks education,marital` (education is an input of neither), and marital's metrics
    /// count only its labelled test rows. Income has no such built-in path: the built-in
    /// `income,marital` reads education, which is a label here, and that input is worth 0.0075 of
    /// income's AUC (YourOwnData.md, "The Census check": 5 seeds, 159 to 1060 steps; not the
    /// experts, the tag column or the schema path), so income is held to a looser bound.
    func testCensusWithThreeTasksATagColumnAndBlankLabels() throws {
        let census = CensusTrainingTests.dataDirectory
        guard let files = CensusIncome.files(in: census), let testFile = files.test else { throw XCTSkip("no Census-income data at \(census)") }
        let columns = CensusIncome.columnNames
        let bachelor = Set(CensusTaskGroup.bachelorOrHigher)
        func convert(_ source: String, _ target: String) throws -> Int {
            var text = (columns.reversed() + ["origin"]).joined(separator: ",") + "\n"
            var row = 0, labelled = 0
            try ChunkReader(path: source).forEachLine { bytes, range, _ in
                let fields = String(decoding: bytes[range], as: UTF8.self).split(separator: ",", omittingEmptySubsequences: false)
                    .map { $0.trimmingCharacters(in: .whitespaces) }
                guard fields.count == columns.count else { return true }
                row += 1
                var cells = fields.enumerated().map { i, v -> String in
                    if columns[i] == "income_50k" { return v.hasPrefix("50000+") ? "1" : "0" }
                    if columns[i] == "marital_stat" { return row % 10 == 0 ? "" : (v == "Never married" ? "1" : "0") }
                    if columns[i] == "education" { return bachelor.contains(v) ? "yes" : "no" }
                    return i % 3 == 0 ? "\"\(v)\"" : v
                }
                if row % 10 != 0 { labelled += 1 }
                let value = { (name: String) in fields[columns.firstIndex(of: name)!] }
                cells.reverse()
                cells.append("\(value("race"))|\(value("sex"))")
                text += cells.joined(separator: ",") + "\n"
                return true
            }
            try text.write(toFile: target, atomically: true, encoding: .utf8)
            return labelled
        }
        _ = try convert(files.train, path("train.csv"))
        let labelledTest = try convert(testFile, path("test.csv"))
        let dense = CensusIncome.denseNames.map { #"{"name": "\#($0)", "kind": "dense", "transform": "minmax"}"# }
        let sparse = CensusIncome.sparseNames.filter { $0 != "education" }.map { #"{"name": "\#($0)", "kind": "sparse", "buckets": 1024}"# }
        let tags = [#"{"name": "origin", "kind": "tags", "separator": "|", "buckets": 64}"#]
        let schema = """
            {"features": [\((dense + sparse + tags).joined(separator: ",\n"))],
             "tasks": [{"name": "income", "column": "income_50k"}, {"name": "marital", "column": "marital_stat"},
                       {"name": "education", "column": "education", "positive": ["yes"]}]}
            """
        try schema.write(toFile: path("census3.json"), atomically: true, encoding: .utf8)
        // One thread: the AUCs then do not depend on the machine's core count (at 159 steps the
        // seeds spread education's gap over 0.0005 to 0.0035; this is the default seed's run).
        let common = ["--train_batches", "159", "--embedding_vec_size", "4", "--loss_print_interval", "1000", "--threads", "1"]
        let (builtIn, _) = try train(common + ["--data_dir", census, "--output_dir", path("a")])
        let (builtInEducation, _) = try train(common + ["--data_dir", census, "--census_tasks", "education,marital", "--output_dir", path("c")])
        let (own, _) = try train(common + ["--schema", path("census3.json"), "--data_dir", directory.path, "--output_dir", path("b")])
        let a = builtIn.finalEvaluation!, e = builtInEducation.finalEvaluation!, b = own.finalEvaluation!
        print("Census built-in AUC \(a.auc), education group \(e.auc); three tasks, a tag column and blank marital labels \(b.auc), counted \(b.taskSamples)")
        XCTAssertEqual(b.auc.count, 3)
        XCTAssertEqual(b.auc[0], a.auc[0], accuracy: 0.02)
        XCTAssertEqual(b.auc[1], a.auc[1], accuracy: 0.003)
        XCTAssertEqual(b.auc[2], e.auc[0], accuracy: 0.003)
        XCTAssertEqual(b.taskSamples, [b.samples, labelledTest, b.samples])
    }
}
