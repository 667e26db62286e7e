import XCTest
import Foundation
import Tensor
import Datasets
@testable import MMoE

/// `mmoe-predict` behind its argument parser: its output against the model's eval-mode output
/// from training, its input from files and stdin, `--eval`, and every way it refuses to run.
final class PredictCommandTests: XCTestCase {
    /// The trained model rebuilt by hand (not from the manifest) with the Census test split encoded
    /// by training's own loader, and the trainer's eval-mode logits and evaluation on it.
    func censusReference(data: String, checkpoint: String) throws -> (logits: [[Float]], evaluation: EvalReport, rows: Int) {
        let census = try CensusIncome.load(directory: data)
        var config = MMoEConfig(denseWidth: CensusIncome.denseNames.count, fieldRows: census.encoder.schema.fieldRows, embeddingDim: 2,
                                expertDNN: [8], towerDNN: [4])
        config.fieldNames = census.encoder.schema.fieldNames
        let model = try MMoEModel(config, seed: 99)
        try ModelCheckpoint.load(into: model, from: checkpoint)
        var settings = TrainerSettings()
        settings.evalBatchSize = 7  // chunking must not matter
        let trainer = Trainer(model: model, train: census.train, test: census.test, settings: settings)
        return (trainer.predictLogits(census.test), trainer.evaluate(census.test, epoch: 0, step: 0), census.test.count)
    }

    func testCensusOutputIsTheTrainersEvalOutputAndItsAUC() throws {
        let data = try PredictFixture.censusDirectory(self)
        let (checkpoint, training) = try PredictFixture.train(self, data: data)
        let reference = try censusReference(data: data, checkpoint: checkpoint)

        for threads in ["1", "2"] {
            let r = try PredictFixture.predict(["--model_load_dir", checkpoint, "--input", data + "/census-income.test", "--eval",
                                                "--batch_size", "16", "--threads", threads])
            let lines = r.out.split(separator: "\n", omittingEmptySubsequences: false)
            XCTAssertEqual(lines.first, "income,marital")
            XCTAssertEqual(lines.count, reference.rows + 2, "header, one line per row, and the final line break")
            XCTAssertEqual(lines.last, "")
            let values = PredictFixture.values(r.out)
            XCTAssertEqual(values.count, reference.rows)
            for (i, row) in values.enumerated() {
                XCTAssertEqual(row.count, 2)
                for t in 0..<2 {
                    let logit = reference.logits[t][i]
                    // Printed as the shortest text that reads back as the same Float.
                    XCTAssertEqual(row[t], Predictor.probability(logit), "row \(i) task \(t)")
                    XCTAssertEqual(Double(row[t]), 1 / (1 + exp(-Double(logit))), accuracy: 1e-6, "row \(i) task \(t)")
                }
            }
            XCTAssertEqual(r.summary.rows, reference.rows)
            XCTAssertEqual(r.summary.auc, reference.evaluation.auc)
            XCTAssertEqual(r.summary.auc, training.finalEvaluation!.auc, "the AUC mmoe-train printed after its last step")
            XCTAssertEqual(r.summary.logLoss, reference.evaluation.logLoss)
            XCTAssertEqual(r.err.count, 1)
            XCTAssertTrue(r.err[0].contains("AUC_income \(String(format: "%.6f", reference.evaluation.auc[0]))"), r.err[0])
        }
    }

    func testStdinAndOutputFileGiveTheSameLines() throws {
        let data = try PredictFixture.censusDirectory(self, testRows: 700)
        let (checkpoint, _) = try PredictFixture.train(self, data: data)
        let file = data + "/census-income.test"
        let fromFile = try PredictFixture.predict(["--model_load_dir", checkpoint, "--input", file])
        let fromStdin = try PredictFixture.predict(["--model_load_dir", checkpoint, "--input", "-", "--batch_size", "300"],
                                                   stdin: try Data(contentsOf: URL(fileURLWithPath: file)))
        XCTAssertEqual(fromStdin.out, fromFile.out)
        XCTAssertEqual(fromStdin.summary.rows, 700)
        XCTAssertTrue(fromStdin.err[0].contains("from stdin to stdout"), fromStdin.err[0])

        let outDir = try PredictFixture.temporaryDirectory(self)
        let r = try PredictFixture.predict(["--model_load_dir", checkpoint, "--input", file, "--output", outDir + "/p.csv"])
        XCTAssertTrue(r.out.isEmpty)
        XCTAssertEqual(try String(contentsOfFile: outDir + "/p.csv", encoding: .utf8), fromFile.out)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outDir), ["p.csv"], "no temporary file left")
    }

    func testTaobaoOutputIsTheTrainersEvalOutput() throws {
        let data = try PredictFixture.taobaoDirectory(self, testRows: 50)
        let (checkpoint, training) = try PredictFixture.train(self, data: data, extra: ["--clamp_price"])
        let (model, manifest) = try CheckpointManifest.loadModel(from: checkpoint)
        XCTAssertEqual(manifest.dataset, .taobao)
        XCTAssertEqual(manifest.encoding, .taobao(TaobaoOptions(clampPrice: true), bucketSizes: Taobao.bucketSizes))
        let test = try Taobao.load(path: data + "/" + Taobao.testFileName)
        let trainer = Trainer(model: model, source: MemoryBatchSource(test, batchSize: 8, seed: 1), test: .memory(test),
                              taskNames: Taobao.taskNames, settings: TrainerSettings())
        let logits = trainer.predictLogits(test)

        let r = try PredictFixture.predict(["--model_load_dir", checkpoint, "--input", data + "/" + Taobao.testFileName, "--eval",
                                            "--dataset", "taobao", "--batch_size", "9"])
        XCTAssertTrue(r.out.hasPrefix("ctr,cvr\n"))
        let values = PredictFixture.values(r.out)
        XCTAssertEqual(values.count, 50)
        for (i, row) in values.enumerated() {
            XCTAssertEqual(row, [Predictor.probability(logits[0][i]), Predictor.probability(logits[1][i])], "row \(i)")
        }
        XCTAssertEqual(r.summary.auc?.map(\.bitPattern), training.finalEvaluation!.auc.map(\.bitPattern))
    }

    func testRefusals() throws {
        let data = try PredictFixture.censusDirectory(self)
        let (checkpoint, _) = try PredictFixture.train(self, data: data)
        let input = data + "/census-income.test"
        func refusal(_ arguments: [String]) -> String {
            PredictFixture.error { _ = try PredictFixture.predict(arguments) }
        }
        XCTAssertTrue(refusal(["--input", input]).contains("--model_load_dir is required"))
        XCTAssertTrue(refusal(["--model_load_dir", checkpoint]).contains("--input is required"))
        XCTAssertTrue(refusal(["--model_load_dir", "/nonexistent/ckpt", "--input", input]).contains("--model_load_dir /nonexistent/ckpt: no such directory"))
        let empty = try PredictFixture.temporaryDirectory(self)
        XCTAssertTrue(refusal(["--model_load_dir", empty, "--input", input]).contains("no model.safetensors there"))
        XCTAssertTrue(refusal(["--model_load_dir", checkpoint, "--input", input, "--dataset", "taobao"])
            .contains("--dataset taobao: the checkpoint in \(checkpoint) was trained on census data"))
        XCTAssertTrue(refusal(["--model_load_dir", checkpoint, "--input", data + "/missing.csv"]).contains("--input \(data)/missing.csv: no such file"))
        XCTAssertTrue(refusal(["--model_load_dir", checkpoint, "--input", input, "--output", "/nonexistent/dir/p.csv"]).contains("no such directory"))
        XCTAssertTrue(PredictFixture.error { _ = try PredictOptions.parse(["--dataset", "synthetic"]) }.contains("--dataset: \"synthetic\" is not census, taobao or schema"))

        // A checkpoint saved without a manifest, as before mmoe-predict existed.
        let (model, _) = try CheckpointManifest.loadModel(from: checkpoint)
        let old = try PredictFixture.temporaryDirectory(self)
        try ModelCheckpoint.save(model, to: old)
        let message = refusal(["--model_load_dir", old, "--input", input])
        XCTAssertTrue(message.contains("no checkpoint manifest"), message)
    }

    func testBadRowsNameTheInputLineAndFieldAndLeaveNoOutputFile() throws {
        let data = try PredictFixture.censusDirectory(self)
        let (checkpoint, _) = try PredictFixture.train(self, data: data)
        var lines = PredictFixture.censusLines(600, seed: 5)
        var fields = lines[250].components(separatedBy: ", ")
        fields[CensusIncome.columnNames.firstIndex(of: "weeks_worked")!] = "many"
        lines[250] = fields.joined(separator: ", ")
        // A later error, in the second thread's share of the lines: the first in input order is reported.
        lines[310] = "1, 2, 3"
        let bad = data + "/bad.csv"
        try (lines.joined(separator: "\n") + "\n").write(toFile: bad, atomically: true, encoding: .utf8)
        let outDir = try PredictFixture.temporaryDirectory(self)
        try "previous complete output\n".write(toFile: outDir + "/p.csv", atomically: true, encoding: .utf8)

        for threads in ["1", "2"] {
            var error: DatasetError?
            XCTAssertThrowsError(try PredictFixture.predict(["--model_load_dir", checkpoint, "--input", bad, "--output", outDir + "/p.csv",
                                                             "--batch_size", "1000", "--threads", threads])) { error = $0 as? DatasetError }
            XCTAssertEqual(error?.file, bad)
            XCTAssertEqual(error?.line, 251)
            XCTAssertEqual(error?.field, "weeks_worked (column 40)")
            XCTAssertEqual(try String(contentsOfFile: outDir + "/p.csv", encoding: .utf8), "previous complete output\n")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outDir), ["p.csv"], "the temporary file is removed")
        }

        let stdinError = PredictFixture.error {
            _ = try PredictFixture.predict(["--model_load_dir", checkpoint, "--input", "-"], stdin: Data((lines[0] + "\n\n1, 2, 3\n").utf8))
        }
        XCTAssertTrue(stdinError.hasPrefix("stdin:3: found 3 fields"), stdinError)

        // Input in the other data set's format: refused at its first line, with nothing written, not even the header.
        var out = Data()
        var command = PredictCommand(options: try PredictOptions.parse(["--model_load_dir", checkpoint, "--input", data + "/taobao.csv"]))
        command.writeStandardOutput = { out.append($0) }
        try TaobaoTrainingTests.lines(5, seed: 1).write(toFile: data + "/taobao.csv", atomically: true, encoding: .utf8)
        XCTAssertTrue(PredictFixture.error { try command.run() }.hasPrefix("\(data)/taobao.csv:1: found 20 fields, expected 42"))
        XCTAssertTrue(out.isEmpty)
    }
}
