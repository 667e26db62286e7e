import XCTest
import Foundation
import Tensor
import Datasets
@testable import MMoE

/// The reference configuration on the real Census-income rows in `../shared/data/census` (beside
/// the project's root; skipped when absent, as in a user's clone): 5 epochs must reach the quality
/// a framework implementation of the same model reaches there (PyTorch: AUC 0.941 / 0.992).
final class CensusTrainingTests: XCTestCase {
    static let dataDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../shared/data/census").standardized.path

    func testReferenceConfigurationOnSharedCensusSample() throws {
        guard CensusIncome.files(in: Self.dataDirectory) != nil else {
            throw XCTSkip("no Census-income data at \(Self.dataDirectory)")
        }
        let census = try CensusIncome.load(directory: Self.dataDirectory)
        let config = MMoEConfig(denseWidth: 11, fieldRows: census.encoder.schema.fieldRows, embeddingDim: 4)
        let model = try MMoEModel(config, seed: 2019)
        var settings = TrainerSettings()
        settings.trainBatches = 5 * ((census.train.count + settings.batchSize - 1) / settings.batchSize)
        settings.lossPrintInterval = 1000
        let trainer = Trainer(model: model, train: census.train, test: census.test, settings: settings)
        var evaluations: [EvalReport] = []
        let summary = try trainer.run { if case .evaluation(let r) = $0 { evaluations.append(r) } }
        XCTAssertEqual(summary.steps, 265)
        XCTAssertEqual(evaluations.count, 5)
        let auc = summary.finalEvaluation!.auc
        print("Census sample, 5 epochs: AUC income \(auc[0]), marital \(auc[1]); per epoch \(evaluations.map(\.auc))")
        XCTAssertGreaterThan(auc[0], 0.93)
        XCTAssertGreaterThan(auc[1], 0.985)
    }
}
