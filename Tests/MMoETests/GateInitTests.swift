import XCTest
import Foundation
import Tensor
import Datasets
@testable import MMoE

/// `--gate_init zero`: every gate starts uniform over the experts, and every other weight is the
/// one the default (Xavier) initialisation draws, so the option changes nothing but the gates.
final class GateInitTests: XCTestCase {
    func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmoe-gate-init-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    func values(_ model: MMoEModel) -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: model.parameters.parameters.map { ($0.name, $0.value.scalars) })
    }

    func testZeroGatesAreUniformAndTheOtherWeightsUnchanged() throws {
        for (kind, gateBias) in [(ModelKind.mmoe, false), (.omoe, false), (.mmoe, true)] {
            var config = MMoEConfig(denseWidth: 6, fieldRows: [], embeddingDim: 1, numExperts: 3, numTasks: 2, expertDNN: [4])
            config.kind = kind
            config.gateBias = gateBias
            let xavier = try MMoEModel(config, seed: 11), zero = try MMoEModel(config, seed: 11)
            zero.applyGateInit(.zero)
            xavier.applyGateInit(.xavier)
            let before = values(xavier), after = values(zero)
            XCTAssertEqual(Set(before.keys), Set(after.keys))
            for (name, v) in after {
                if name.hasPrefix("gates.out.") {
                    XCTAssertTrue(v.allSatisfy { $0 == 0 }, "\(kind) \(name)")
                    if name.hasSuffix(".weight") { XCTAssertFalse(before[name]!.allSatisfy { $0 == 0 }, "\(kind): Xavier gates are not zero") }
                } else {
                    XCTAssertEqual(v, before[name], "\(kind) \(name) differs with --gate_init zero")
                }
            }
            XCTAssertEqual(after.keys.filter { $0.hasPrefix("gates.out.") }.count, gateBias ? 2 : 1)

            var rng = SeededRNG(seed: 3)
            let rows = 5
            let data = TabularData(count: rows, denseWidth: 6, dense: (0 ..< rows * 6).map { _ in rng.nextNormal() }, fieldCount: 0,
                                   ids: [], taskNames: ["a", "b"], labels: [Float](repeating: 0, count: rows * 2))
            let batch = Batch(data, rows: 0 ..< rows)
            let uniform = try XCTUnwrap(zero.gateWeights(batch)).scalars
            XCTAssertEqual(uniform.count, (kind == .mmoe ? 2 : 1) * rows * 3)
            for w in uniform { XCTAssertEqual(w, 1.0 / 3, accuracy: 1e-6) }
            let drawn = try XCTUnwrap(xavier.gateWeights(batch)).scalars
            XCTAssertGreaterThan(drawn.map { abs($0 - 1.0 / 3) }.max()!, 1e-3, "\(kind): Xavier gates start uniform too, so the test shows nothing")
        }
    }

    /// Through `mmoe-train`: the initial model saved with `--gate_init zero` against the default's.
    func testTheFlagZeroesOnlyTheGatesOfTheSavedInitialModel() throws {
        let dir = try temporaryDirectory()
        func initial(_ extra: [String]) throws -> MMoEModel {
            let out = dir + "/run\(extra.count)"
            let arguments = ["--num_train_samples", "64", "--num_test_samples", "16", "--synthetic_dim", "8", "--num_experts", "3",
                             "--expert_dnn", "4", "--tower_dnn", "4", "--batch_size", "32", "--train_batches", "1", "--threads", "1",
                             "--seed", "5", "--save_initial_model", "--model_save_dir", out + "/models", "--output_dir", out,
                             "--tensorboard", "False"] + extra
            try TrainCommand(options: try TrainOptions.parse(arguments), print: { _ in }, printError: { _ in }).run()
            return try CheckpointManifest.loadModel(from: out + "/models/initial_checkpoint").model
        }
        let xavier = values(try initial([])), zero = values(try initial(["--gate_init", "zero"]))
        XCTAssertEqual(Set(xavier.keys), Set(zero.keys))
        for (name, v) in zero {
            if name.hasPrefix("gates.out.") { XCTAssertTrue(v.allSatisfy { $0 == 0 }, name); XCTAssertNotEqual(v, xavier[name], name) }
            else { XCTAssertEqual(v, xavier[name], name) }
        }
    }

    func testTheFlagIsRefusedForModelsWithoutMixtureGates() throws {
        let dir = try temporaryDirectory()
        for model in ["shared_bottom", "ple"] {
            let options = try TrainOptions.parse(["--model", model, "--gate_init", "zero", "--output_dir", dir])
            XCTAssertThrowsError(try TrainCommand(options: options, print: { _ in }, printError: { _ in }).run()) { error in
                XCTAssertTrue("\(error)".contains("--gate_init sets the start of the gates of mmoe and omoe; --model \(model) has none"), "\(error)")
            }
        }
        XCTAssertThrowsError(try TrainOptions.parse(["--gate_init", "ones"])) { error in
            XCTAssertTrue("\(error)".contains("--gate_init"), "\(error)")
        }
    }
}
