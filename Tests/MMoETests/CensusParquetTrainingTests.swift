import XCTest
import Foundation
import Datasets
@testable import MMoE

/// `mmoe-train` on OneFlow's Census Parquet folder, `../shared/data/census-parquet` (skipped when
/// absent), with the flags of OneFlow's launch script (`Scripts/train_mmoe.sh`: keyed embedding
/// store, `--table_size_array` as capacities) for 5 epochs: the same quality as the raw Census
/// sample reaches.
final class CensusParquetTrainingTests: XCTestCase {
    static let dataDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../shared/data/census-parquet").standardized.path

    func testOneFlowFlagsOnSharedParquetFolder() throws {
        guard CensusParquet.files(in: Self.dataDirectory) != nil else {
            throw XCTSkip("no Census Parquet at \(Self.dataDirectory)")
        }
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("parquet-train-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let stepsPerEpoch = (13_334 + 255) / 256
        let arguments = [
            "--data_dir", Self.dataDirectory,
            "--persistent_path", tmp + "/persistent",
            "--table_size_array", "9, 52, 47, 17, 3, 24, 15, 5, 10, 2, 3, 6, 8, 6, 6, 51, 38, 8, 10, 9, 10, 3, 4, 5, 43, 43, 43, 5, 3",
            "--store_type", "cached_host_mem", "--cache_memory_budget_mb", "1024",
            "--batch_size", "256", "--train_batches", "\(5 * stepsPerEpoch)", "--loss_print_interval", "100",
            "--learning_rate", "0.001", "--embedding_vec_size", "4", "--expert_dnn", "256, 128",
            "--model_save_dir", tmp + "/model", "--output_dir", tmp + "/result",
        ]
        var out: [String] = []
        let command = TrainCommand(options: try TrainOptions.parse(arguments), print: { out.append($0) }, printError: { out.append($0) })
        let summary = try command.run()
        let auc = try XCTUnwrap(summary.finalEvaluation).auc
        print("Census Parquet, OneFlow flags, 5 epochs: AUC income \(auc[0]), marital \(auc[1])")
        XCTAssertGreaterThan(auc[0], 0.93)
        XCTAssertGreaterThan(auc[1], 0.985)
    }
}
