import XCTest
import Foundation
import Datasets
import Tensor
@testable import MMoE

/// `--census_tasks`: the paper's second Census task group end to end, and the values and data it
/// refuses.
extension TrainCommandTests {
    /// Census rows whose education (a degree or not) follows `class_worker` and whose marital
    /// status follows `race`, each nine times in ten: both learnable from the inputs the education
    /// group keeps.
    func educationDirectory(trainRows: Int, testRows: Int) throws -> String {
        let base = "65, Not in universe, 0, 0, High school graduate, 0, Not in universe, Married-civilian spouse present, Not in universe or children, Not in universe, White, All other, Male, Not in universe, Not in universe, Not in labor force, 0, 0, 0, Joint one under 65 & one 65+, Not in universe, Not in universe, Spouse of householder, Spouse of householder, 2259.6, ?, ?, ?, Not in universe under 1 year old, ?, 0, Not in universe, United-States, United-States, United-States, Native- Born in the United States, 0, Not in universe, 2, 0, 95, - 50000"
        var rng = SeededRNG(seed: 11)
        func rows(_ n: Int) -> String {
            (0..<n).map { _ -> String in
                var f = base.components(separatedBy: ", ")
                let worker = rng.next() % 2 == 0, black = rng.next() % 2 == 0
                let degree = worker != (rng.next() % 10 == 0), single = black != (rng.next() % 10 == 0)
                f[0] = "\(18 + rng.next() % 60)"
                f[1] = worker ? "Private" : "Self-employed-incorporated"
                f[4] = degree ? "Masters degree(MA MS MEng MEd MSW MBA)" : "High school graduate"
                f[10] = black ? "Black" : "White"
                f[7] = single ? "Never married" : "Divorced"
                return f.joined(separator: ", ") + "."
            }.joined(separator: "\n") + "\n"
        }
        let dir = try temporaryDirectory()
        try rows(trainRows).write(toFile: dir + "/census-income.data", atomically: true, encoding: .utf8)
        try rows(testRows).write(toFile: dir + "/census-income.test", atomically: true, encoding: .utf8)
        return dir
    }

    func testEducationMaritalGroupTrainsEndToEnd() throws {
        let data = try educationDirectory(trainRows: 400, testRows: 200)
        let out = try temporaryDirectory()
        let r = try run(["--data_dir", data, "--census_tasks", "education,marital", "--expert_dnn", "16", "--batch_size", "20",
                         "--train_batches", "60", "--loss_print_interval", "30", "--learning_rate", "0.01", "--output_dir", out,
                         "--model_save_dir", out + "/models"])
        XCTAssertTrue(r.out.contains { $0.hasPrefix("Rank[0], Step 30, Loss_education ") && $0.contains("Loss_marital") },
                      r.out.joined(separator: "\n"))
        XCTAssertTrue(r.out.contains { $0.contains("input \(28 * 16 + 11) (28 fields x 16 + 11 dense)") }, r.out.joined(separator: "\n"))
        let summary = try readJSON(out + "/summary.json")
        XCTAssertEqual(summary["tasks"] as? [String], ["education", "marital"])
        let auc = try XCTUnwrap((summary["eval"] as? [String: Any])?["auc"] as? [String: Double])
        XCTAssertEqual(Set(auc.keys), ["education", "marital"])
        XCTAssertGreaterThan(auc["education"]!, 0.8, "\(auc)")
        XCTAssertGreaterThan(auc["marital"]!, 0.8, "\(auc)")
        let saved = try SafeTensors.decode(try Data(contentsOf: URL(fileURLWithPath: out + "/models/final_checkpoint/model.safetensors")), file: "model")
        XCTAssertEqual(saved.metadata["census_tasks"], "education,marital")
        // One table per input field: education is a label here, so it has none.
        let tables = saved.tensors.filter { $0.key.hasPrefix("embedding.") }
        XCTAssertEqual(tables.count, 28)
        XCTAssertNil(tables["embedding.education"])
        XCTAssertEqual(tables.values.reduce(0) { $0 + $1.shape[0] }, CensusTaskGroup.educationMarital.defaultTableSizes.reduce(0) { $0 + $1 + 1 })
    }

    func testCensusTasksRefusesOtherGroupsAndOtherData() throws {
        XCTAssertThrowsError(try TrainOptions.parse(["--census_tasks", "income,education"])) {
            XCTAssertEqual("\($0)", "--census_tasks: \"income,education\" is not a Census task group; expected income,marital or education,marital")
        }
        XCTAssertEqual(try TrainOptions.parse(["--census_tasks", "[education, marital]"]).censusTasks, .educationMarital)
        XCTAssertEqual(TrainOptions().censusTasks, .incomeMarital)
        let out = try temporaryDirectory() + "/never"
        XCTAssertThrowsError(try run(["--census_tasks", "education,marital", "--num_train_samples", "64", "--output_dir", out])) {
            XCTAssertEqual("\($0)", "--census_tasks education,marital applies to Census-income data; the synthetic data has its own tasks")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }
}
