import XCTest
import Foundation
import Datasets
@testable import MMoE

/// DeepRec's configuration on the Taobao-layout sample in `../shared/data/taobao` (skipped when
/// absent, as in a user's clone): `mmoe-train --data_location DIR --steps 400` with every other
/// setting at DeepRec's default must learn both tasks (a hashed logistic regression reaches about
/// 0.69 on both; a deep model far below that is overfitting the id embeddings).
final class TaobaoSharedDataTests: XCTestCase {
    static let dataDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../shared/data/taobao").standardized.path

    func testDeepRecDefaultsLearnBothTasksIn400Steps() throws {
        guard (try? Taobao.files(in: Self.dataDirectory)) != nil else {
            throw XCTSkip("no Taobao data at \(Self.dataDirectory)")
        }
        #if DEBUG
        // 400 steps of a 12M-parameter model: seconds when optimised, many minutes in a debug build.
        throw XCTSkip("trains DeepRec's full model; run the optimised test command (swift test -c release -Xswiftc -enable-testing)")
        #endif
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("mmoe-taobao-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: out) }
        let options = try TrainOptions.parse(["--data_location", Self.dataDirectory, "--steps", "400", "--output_dir", out,
                                              "--loss_print_interval", "400"])
        let summary = try TrainCommand(options: options, print: { _ in }, printError: { _ in }).run()
        let auc = try XCTUnwrap(summary.finalEvaluation).auc
        XCTAssertGreaterThan(auc[0], 0.62, "ctr AUC \(auc)")
        XCTAssertGreaterThan(auc[1], 0.60, "cvr AUC \(auc)")
    }
}
