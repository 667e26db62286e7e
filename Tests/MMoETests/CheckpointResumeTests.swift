import XCTest
import Foundation
import Tensor
import Datasets
@testable import MMoE

/// Exact resume with dropout on: N steps, a checkpoint, and M resumed steps give the parameters,
/// optimizer state and losses of N + M steps straight, bit for bit, because the dropout
/// generator's state travels in the checkpoint and the data order is replayed from the seed.
final class CheckpointResumeTests: XCTestCase {
    func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmoe-ckpt-resume-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    struct Run {
        let losses: [Int: [Double]]
        let values: [Float]
    }

    /// Trains `steps` steps from `firstStep` with `trainer`, recording every step's losses.
    func run(_ trainer: Trainer, from firstStep: Int = 1) throws -> Run {
        var losses: [Int: [Double]] = [:]
        _ = try trainer.run(from: firstStep) { if case .step(let r) = $0 { losses[r.step] = r.taskLosses } }
        return Run(losses: losses, values: trainer.model.parameters.values.scalars)
    }

    func testTrainerResumesDropoutExactlyAndOnlyWithItsSavedGenerator() throws {
        var s = SyntheticTasks.Settings()
        s.seed = 3
        let (train, test, _) = SyntheticTasks.generate(trainRows: 300, testRows: 40, settings: s, binary: true)
        var config = MMoEConfig(denseWidth: train.denseWidth, fieldRows: [], embeddingDim: 1, expertDNN: [16, 8], towerDNN: [4], dropout: 0.3)
        config.gateDNN = [4]
        func trainer(steps: Int, seed: UInt64 = 1) throws -> Trainer {
            var settings = TrainerSettings()
            settings.batchSize = 64          // two shards of 32 rows: the sharded path draws per-shard seeds
            settings.trainBatches = steps
            settings.lossPrintInterval = 1
            settings.evaluate = false
            settings.optimizer = .adam
            return Trainer(model: try MMoEModel(config, seed: seed), train: train, test: test, settings: settings)
        }
        let straight = try run(try trainer(steps: 12))

        let dir = try temporaryDirectory()
        let first = try trainer(steps: 5)
        _ = try run(first)
        let saved = try CheckpointDirectory(path: dir, keep: 1).save(first.model, optimizer: first.optimizer, kind: .adam, step: 5,
                                                                     metadata: first.checkpointMetadata)
        XCTAssertEqual(first.checkpointMetadata[Trainer.dropoutRNGKey]?.count, 4 * 16 + 3)

        func resumed(restoringGenerator: Bool) throws -> Run {
            let second = try trainer(steps: 12, seed: 99)
            let metadata = try ModelCheckpoint.load(into: second.model, from: saved)
            try OptimizerCheckpoint.load(into: second.optimizer, kind: .adam, from: saved)
            if restoringGenerator { XCTAssertEqual(try second.restore(checkpointMetadata: metadata), []) }
            try second.skipBatches(5)
            return try run(second, from: 6)
        }
        let exact = try resumed(restoringGenerator: true)
        XCTAssertEqual(Array(exact.losses.keys).sorted(), Array(6...12))
        for step in 6...12 { XCTAssertEqual(exact.losses[step], straight.losses[step], "step \(step)") }
        XCTAssertEqual(exact.values.map(\.bitPattern), straight.values.map(\.bitPattern))

        // The control: the same resume with a fresh generator drifts from the straight run.
        let fresh = try resumed(restoringGenerator: false)
        XCTAssertNotEqual(fresh.losses[6], straight.losses[6])
        XCTAssertNotEqual(fresh.values, straight.values)
    }

    func testRestoreRefusesAMissingOrMalformedGeneratorWhenDropoutIsOn() throws {
        let (train, test, _) = SyntheticTasks.generate(trainRows: 64, testRows: 8, settings: SyntheticTasks.Settings(), binary: true)
        for dropout: Float in [0, 0.2] {
            let config = MMoEConfig(denseWidth: train.denseWidth, fieldRows: [], embeddingDim: 1, expertDNN: [4], dropout: dropout)
            var settings = TrainerSettings()
            settings.batchSize = 16
            let trainer = Trainer(model: try MMoEModel(config, seed: 1), train: train, test: test, settings: settings)
            if dropout > 0 {
                XCTAssertThrowsError(try trainer.restore(checkpointMetadata: [:])) { XCTAssertTrue("\($0)".contains("no trainer.dropout_rng"), "\($0)") }
            } else {
                XCTAssertEqual(try trainer.restore(checkpointMetadata: [:]), [])
            }
            for bad in ["", "1:2:3:4", String(repeating: "0", count: 16 * 4 + 3).replacingOccurrences(of: "0000000000000000", with: "000000000000000g")] {
                XCTAssertThrowsError(try trainer.restore(checkpointMetadata: [Trainer.dropoutRNGKey: bad]), bad)
            }
            var other = trainer.checkpointMetadata
            other[Trainer.seedKey] = "77"
            other[Trainer.batchSizeKey] = "8"
            let notes = try trainer.restore(checkpointMetadata: other)
            XCTAssertEqual(notes.count, 2)
            XCTAssertTrue(notes[0].contains("--seed 77") && notes[1].contains("--batch_size 8"), "\(notes)")
        }
    }

    /// Each printed step's losses from `metrics.jsonl`, by step.
    func losses(_ out: String) throws -> [Int: [Double]] {
        let text = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8)
        var result: [Int: [Double]] = [:]
        for line in text.split(separator: "\n") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            guard object["type"] as? String == "train", let loss = object["loss"] as? [String: Double] else { continue }
            result[object["step"] as! Int] = loss.keys.sorted().map { loss[$0]! }
        }
        return result
    }

    func testCommandResumeWithDropoutEqualsTheStraightRunByteForByte() throws {
        let root = try temporaryDirectory()
        let common = ["--num_train_samples", "400", "--num_test_samples", "40", "--expert_dnn", "16,8", "--tower_dnn", "4",
                      "--net_dropout", "0.25", "--batch_size", "64", "--loss_print_interval", "1", "--save_steps", "7",
                      "--no_eval", "--threads", "1"]
        func command(_ extra: [String]) throws {
            _ = try TrainCommand(options: try TrainOptions.parse(common + extra), print: { _ in }, printError: { _ in }).run()
        }
        try command(["--train_batches", "16", "--checkpoint", root + "/straight", "--output_dir", root + "/out-straight"])
        try command(["--train_batches", "7", "--checkpoint", root + "/ck", "--output_dir", root + "/out-first"])
        XCTAssertEqual(CheckpointDirectory(path: root + "/ck", keep: 1).latest()?.step, 7)
        try command(["--train_batches", "16", "--checkpoint", root + "/ck", "--output_dir", root + "/out-resumed"])

        let straight = try losses(root + "/out-straight"), resumed = try losses(root + "/out-resumed")
        XCTAssertEqual(Array(resumed.keys).sorted(), Array(8...16))
        for step in 8...16 { XCTAssertEqual(resumed[step], straight[step], "step \(step)") }
        for file in [ModelCheckpoint.fileName, OptimizerCheckpoint.fileName] {
            let a = try Data(contentsOf: URL(fileURLWithPath: "\(root)/ck/model.ckpt-16/\(file)"))
            let b = try Data(contentsOf: URL(fileURLWithPath: "\(root)/straight/model.ckpt-16/\(file)"))
            XCTAssertTrue(a == b, "\(file) differs between the resumed and the straight run")
        }
    }
}
