import XCTest
import Foundation
import Datasets
@testable import MMoE

/// `--rank_input share` under `mpirun` (skipped without MPI, as the other DistributedTests): a
/// Taobao file streamed on 2 ranks, each parsing its share of the slices, against one process: the
/// same printed losses, evaluation and weights, the rows parsed split between the ranks; an
/// explicit `--smartstaged` is refused with exit 2. (`RankInputTests` covers more in one process.)
extension DistributedTests {
    func testSharedTaobaoInputMatchesOneProcess() throws {
        let mpi = try Self.mpiTools()
        let data = try PredictFixture.temporaryDirectory(self) + "/taobao"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try TaobaoTrainingTests.lines(1500, seed: 1).write(toFile: data + "/" + Taobao.trainFileName, atomically: true, encoding: .utf8)
        try TaobaoTrainingTests.lines(200, seed: 2).write(toFile: data + "/" + Taobao.testFileName, atomically: true, encoding: .utf8)
        let flags = ["--data_location", data, "--batch_size", "128", "--steps", "14", "--loss_print_interval", "2", "--threads", "1",
                     "--shuffle_window", "256", "--embedding_vec_size", "4", "--expert_dnn", "16,8", "--tower_dnn", "8", "--num_experts", "2"]
        let one = try train(mpi, ranks: 1, flags)
        let two = try train(mpi, ranks: 2, flags)
        try assertSameRun(one, two)
        XCTAssertTrue(two.out.contains("parses its share"), two.out)
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: two.dir + "/out/summary.json"))) as! [String: Any]
        let distributed = try XCTUnwrap(summary["distributed"] as? [String: Any])
        XCTAssertEqual(distributed["rank_input"] as? String, "share")
        let parsed = distributed["rows_parsed_per_rank"] as? [Int] ?? []
        XCTAssertEqual(parsed.count, 2)
        XCTAssertGreaterThanOrEqual(parsed.reduce(0, +), 14 * 128)
        XCTAssertTrue(parsed.allSatisfy { $0 > 0 && $0 < parsed.reduce(0, +) }, "each rank parses a part: \(parsed)")

        let refused = try Self.run(mpi.mpirun, Self.mpirunFlags(ranks: 2) + [mpi.binary] + flags
                                   + ["--smartstaged", "true", "--output_dir", two.dir + "/refused"])
        XCTAssertEqual(refused.status, 2, refused.err)
        XCTAssertTrue(refused.err.contains("--smartstaged") && refused.err.contains("--rank_input whole"), refused.err)
    }
}
