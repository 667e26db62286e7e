import XCTest
import Foundation
import Datasets
@testable import MMoE

/// The manifest in a checkpoint's metadata: written by every save, read back exactly, and checked.
final class CheckpointManifestTests: XCTestCase {
    func testEverySaveCarriesAManifestThatRebuildsTheModelAndEncoder() throws {
        let data = try PredictFixture.censusDirectory(self)
        let root = try PredictFixture.temporaryDirectory(self)
        // OneFlow's saves (initial, after each evaluation, final) and DeepRec's checkpoint directory.
        _ = try PredictFixture.train(self, data: data, extra: ["--model_save_dir", root + "/models", "--save_initial_model",
                                                              "--save_model_after_each_eval", "--checkpoint", root + "/ckpt", "--save_steps", "3"])
        let census = try CensusIncome.load(directory: data)
        var dirs = try FileManager.default.contentsOfDirectory(atPath: root + "/models").map { root + "/models/" + $0 }
        dirs += try FileManager.default.contentsOfDirectory(atPath: root + "/ckpt").map { root + "/ckpt/" + $0 }
        XCTAssertGreaterThanOrEqual(dirs.count, 4)
        for dir in dirs {
            let manifest = try CheckpointManifest.read(from: dir)
            XCTAssertEqual(manifest.dataset, .census, dir)
            XCTAssertEqual(manifest.taskNames, ["income", "marital"])
            XCTAssertEqual(manifest.encoding, .census(census.encoder), "the fitted encoder comes back equal")
            XCTAssertEqual(manifest.config.fieldRows, census.encoder.schema.fieldRows)
            XCTAssertEqual(manifest.config.expertDNN, [8])
            XCTAssertEqual(manifest.config.embeddingDim, 2)
        }
    }

    /// The education group's encoder (28 fields, education a label) comes back as that group.
    func testEducationGroupEncoderRoundTrips() throws {
        let group = CensusTaskGroup.educationMarital
        let encoder = try CensusEncoder(denseMin: [Float](repeating: 0, count: 11), denseMax: [Float](repeating: 1, count: 11),
                                        capacities: group.defaultTableSizes, values: group.sparseNames.map { ["x \($0)", "?"] }, group: group)
        var config = MMoEConfig(denseWidth: 11, fieldRows: encoder.schema.fieldRows, embeddingDim: 2, expertDNN: [4])
        config.fieldNames = encoder.schema.fieldNames
        let manifest = CheckpointManifest(config: config, dataset: .census, taskNames: group.taskNames, encoding: .census(encoder))
        let back = try CheckpointManifest(metadata: manifest.metadata, file: "f")
        XCTAssertEqual(back, manifest)
        guard case .census(let e) = back.encoding else { return XCTFail("not a Census encoding") }
        XCTAssertEqual(e.group, group)
        XCTAssertFalse(e.schema.fieldNames.contains("education"))
    }

    /// A model trained with bfloat16 GEMM inputs (`--bf16`, `--amp`) is predicted the same way.
    func testBFloat16TrainingIsRecordedForPrediction() throws {
        var manifest = CheckpointManifest(config: MMoEConfig.deepRec(fieldRows: Taobao.schema.fieldRows), dataset: .taobao,
                                          taskNames: Taobao.taskNames, encoding: .taobao(TaobaoOptions(), bucketSizes: Taobao.bucketSizes))
        XCTAssertEqual(manifest.metadata["manifest.bfloat16"], "false")
        manifest.bfloat16 = true
        XCTAssertTrue(try CheckpointManifest(metadata: manifest.metadata, file: "f").bfloat16)
        var metadata = manifest.metadata
        metadata["manifest.bfloat16"] = nil
        XCTAssertFalse(try CheckpointManifest(metadata: metadata, file: "f").bfloat16, "absent: Float, as before the entry existed")
        metadata["manifest.bfloat16"] = "yes"
        XCTAssertThrowsError(try CheckpointManifest(metadata: metadata, file: "f")) { XCTAssertTrue("\($0)".contains("manifest.bfloat16"), "\($0)") }
    }

    func testMetadataRoundTripAndChecks() throws {
        var config = MMoEConfig.deepRec(fieldRows: Taobao.schema.fieldRows)
        config.dropout = 0.1
        config.kind = .simpleMultitask
        let manifest = CheckpointManifest(config: config, dataset: .taobao, taskNames: Taobao.taskNames,
                                          encoding: .taobao(TaobaoOptions(clampPrice: true), bucketSizes: Taobao.bucketSizes))
        XCTAssertEqual(try CheckpointManifest(metadata: manifest.metadata, file: "f"), manifest)

        // Dense ranges with values that are not short decimals still come back bit for bit.
        let encoder = try CensusEncoder(denseMin: (0..<11).map { Float($0) / 3 }, denseMax: (0..<11).map { Float($0) * 7.1 + 1e-7 },
                                        capacities: CensusIncome.defaultTableSizes,
                                        values: CensusIncome.sparseNames.map { name in ["a", "b \(name)", "?"] })
        let censusConfig = MMoEConfig(denseWidth: 11, fieldRows: encoder.schema.fieldRows, embeddingDim: 4)
        let censusManifest = CheckpointManifest(config: censusConfig, dataset: .census, taskNames: CensusIncome.taskNames, encoding: .census(encoder))
        XCTAssertEqual(try CheckpointManifest(metadata: censusManifest.metadata, file: "f"), censusManifest)

        func refusal(_ edit: (inout [String: String]) -> Void, base: CheckpointManifest = manifest) -> String {
            var metadata = base.metadata
            edit(&metadata)
            return PredictFixture.error { _ = try CheckpointManifest(metadata: metadata, file: "m.safetensors") }
        }
        XCTAssertTrue(refusal { $0 = ["dataset": "census"] }.contains("m.safetensors: no checkpoint manifest"))
        XCTAssertTrue(refusal { $0["manifest.version"] = "9" }.contains("checkpoint manifest version 9; this build reads version 1"))
        XCTAssertTrue(refusal { $0["manifest.taobao_encoding"] = #"{"bucketSizes":[10,20],"clampPrice":false}"# }
            .contains("trained with Taobao hash bucket sizes [10, 20]"))
        XCTAssertTrue(refusal { $0["manifest.task_names"] = #"["ctr"]"# }.contains("names 1 tasks (ctr) for a model of 2"))
        XCTAssertTrue(refusal { $0["manifest.config"] = "{" }.contains("manifest entry manifest.config is not readable"))
        XCTAssertTrue(refusal { $0["manifest.dataset"] = "mnist" }.contains("unknown dataset \"mnist\""))
        XCTAssertTrue(refusal({ $0["manifest.census_encoder"] = nil }, base: censusManifest).contains("no manifest.census_encoder"))
    }

    func testMetadataIsReadFromTheHeaderAlone() throws {
        let dir = try PredictFixture.temporaryDirectory(self)
        let model = try MMoEModel(MMoEConfig(denseWidth: 3, fieldRows: [5], embeddingDim: 2, expertDNN: [4]), seed: 1)
        try ModelCheckpoint.save(model, to: dir, metadata: ["a": "1", "b": "two"])
        // The writer adds its own keys (checksum, format); ours come back as given.
        func ours() throws -> [String: String] { try ModelCheckpoint.metadata(in: dir).filter { $0.key == "a" || $0.key == "b" } }
        XCTAssertEqual(try ours(), ["a": "1", "b": "two"])
        // Cutting the tensors off does not matter to the header; cutting into the header does.
        let path = dir + "/" + ModelCheckpoint.fileName
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let headerEnd = 8 + Int(bytes.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        try bytes.prefix(headerEnd).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try ours(), ["a": "1", "b": "two"])
        try bytes.prefix(headerEnd - 5).write(to: URL(fileURLWithPath: path))
        XCTAssertTrue(PredictFixture.error { _ = try ModelCheckpoint.metadata(in: dir) }.contains("exceeds the file"))
        try Data("garbage!{not json}".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertTrue(PredictFixture.error { _ = try ModelCheckpoint.metadata(in: dir) }.contains("not a readable safetensors file"))
    }
}
