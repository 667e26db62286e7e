import XCTest
import Foundation
import Tensor
import Datasets
@testable import MMoE

/// `--rank_input share` (the default under `mpirun`): each rank parses only its share of a
/// streamed training input and the ranks exchange the parsed rows (`InputShare`). Run in one
/// process on N ranks of threads (`LoopbackCommunicator`): the same losses, evaluation and trained
/// weights as one process with as many row shards, for a Taobao file and a streamed `--schema`
/// CSV, each rank parsing only its pieces; a resumed run equals a straight one; a bad line on any
/// rank stops every rank with its place; `--smartstaged` given with a shared input is refused.
final class RankInputTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("rank-input-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// What a run leaves on rank 0: its summary, its log, the summary.json `distributed` entry,
    /// each printed step's losses and the final weights file.
    struct Run {
        let summary: TrainingSummary
        let out: [String]
        let distributed: [String: Any]
        let losses: [[Double]]
        let weights: Data
    }

    /// `mmoe-train arguments` on `ranks` ranks of threads (1: a plain process), writing into `name`.
    func train(_ name: String, ranks: Int, _ arguments: [String], schemaMemoryBytes: Int? = nil) throws -> Run {
        let args = arguments + ["--output_dir", path(name + "/out"), "--model_save_dir", path(name + "/model"), "--tensorboard", "false",
                                "--threads", "1"]
        let runs = try LoopbackCommunicator.run(ranks: ranks) { c -> (TrainingSummary, [String]) in
            var out: [String] = []
            var command = TrainCommand(options: try TrainOptions.parse(args), print: { out.append($0) }, printError: { out.append($0) })
            if ranks > 1 { command.communicator = c }
            if let schemaMemoryBytes { command.schemaMemoryBytes = schemaMemoryBytes }
            return (try command.run(), out)
        }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path(name + "/out/summary.json")))) as! [String: Any]
        let metrics = try String(contentsOfFile: path(name + "/out/metrics.jsonl"), encoding: .utf8)
        let losses = try metrics.split(separator: "\n").compactMap { line -> [Double]? in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            guard object["type"] as? String == "train", let loss = object["loss"] as? [String: Double] else { return nil }
            return loss.keys.sorted().map { loss[$0]! }
        }
        let weights = try Data(contentsOf: URL(fileURLWithPath: path(name + "/model/final_checkpoint/" + ModelCheckpoint.fileName)))
        return Run(summary: runs[0].0, out: runs[0].1, distributed: json["distributed"] as? [String: Any] ?? [:], losses: losses, weights: weights)
    }

    func assertSameRun(_ a: Run, _ b: Run, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(a.losses.isEmpty, file: file, line: line)
        XCTAssertEqual(a.losses, b.losses, "printed losses", file: file, line: line)
        XCTAssertTrue(a.weights == b.weights, "trained weights differ", file: file, line: line)
        // In bits: a regression task's AUC is NaN.
        XCTAssertEqual(a.summary.finalEvaluation?.auc.map(\.bitPattern), b.summary.finalEvaluation?.auc.map(\.bitPattern), file: file, line: line)
        XCTAssertEqual(a.summary.finalEvaluation?.loss.map(\.bitPattern), b.summary.finalEvaluation?.loss.map(\.bitPattern), file: file, line: line)
    }

    /// Checks that every rank parsed a part of the `total` rows and that the parts add up to them.
    func assertShared(_ run: Run, ranks: Int, total: Int, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(run.distributed["rank_input"] as? String, "share", file: file, line: line)
        let parsed = run.distributed["rows_parsed_per_rank"] as? [Int] ?? []
        XCTAssertEqual(parsed.count, ranks, file: file, line: line)
        XCTAssertEqual(parsed.reduce(0, +), total, "the ranks' parts add up to the rows read: \(parsed)", file: file, line: line)
        for rows in parsed { XCTAssertTrue(rows > 0 && rows < total, "each rank parses a part only: \(parsed)", file: file, line: line) }
        XCTAssertTrue(run.out.contains { $0.contains("parses its share") }, run.out.joined(separator: "\n"), file: file, line: line)
    }

    /// A Taobao directory: `train` lines (the last one `badLine` when given) and 100 test lines.
    func taobao(train: Int, badLine: String? = nil) throws -> String {
        let dir = path("taobao")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var lines = TaobaoTrainingTests.lines(train, seed: 1)
        if let badLine { lines += badLine + "\n" }
        try lines.write(toFile: dir + "/" + Taobao.trainFileName, atomically: true, encoding: .utf8)
        try TaobaoTrainingTests.lines(100, seed: 2).write(toFile: dir + "/" + Taobao.testFileName, atomically: true, encoding: .utf8)
        return dir
    }

    /// Small DeepRec-shaped model; 1,200 rows in windows of 256, so a run crosses windows and an epoch.
    func taobaoFlags(_ dir: String) -> [String] {
        ["--data_location", dir, "--batch_size", "128", "--steps", "12", "--loss_print_interval", "1", "--shuffle_window", "256",
         "--embedding_vec_size", "4", "--expert_dnn", "16,8", "--tower_dnn", "8", "--num_experts", "2"]
    }

    func testTaobaoSharedOverTwoAndFourRanksMatchesOneProcess() throws {
        let dir = try taobao(train: 1200)
        let one = try train("one", ranks: 1, taobaoFlags(dir))
        XCTAssertNil(one.distributed["rank_input"])
        // Parsed on the training thread (--smartstaged false); the other shared runs parse ahead on
        // loader threads (--workqueue, or in place of --smartstaged's default).
        let two = try train("two", ranks: 2, taobaoFlags(dir) + ["--smartstaged", "false"])
        assertSameRun(one, two)
        XCTAssertFalse(two.out.contains { $0.contains("--smartstaged (on by default)") }, two.out.joined(separator: "\n"))
        // 12 steps of 128 rows over 1,200 (10 batches an epoch): the first epoch whole, then the
        // pieces that the second epoch's first 2 batches needed.
        let read = two.distributed["rows_parsed_per_rank"] as? [Int] ?? []
        assertShared(two, ranks: 2, total: read.reduce(0, +))
        XCTAssertGreaterThanOrEqual(read.reduce(0, +), 1200 + 256)

        let fourShards = try train("one4", ranks: 1, taobaoFlags(dir) + ["--inter", "4"])
        let four = try train("four", ranks: 4, taobaoFlags(dir) + ["--workqueue"])
        assertSameRun(fourShards, four)
        assertShared(four, ranks: 4, total: (four.distributed["rows_parsed_per_rank"] as? [Int] ?? []).reduce(0, +))
        // Every rank reading everything: the same run, each rank parsing every row it uses.
        let whole = try train("whole", ranks: 2, taobaoFlags(dir) + ["--rank_input", "whole"])
        assertSameRun(one, whole)
        XCTAssertEqual(whole.distributed["rank_input"] as? String, "whole")
        let wholeParsed = whole.distributed["rows_parsed_per_rank"] as? [Int] ?? []
        XCTAssertEqual(wholeParsed.count, 2)
        XCTAssertTrue(wholeParsed.allSatisfy { $0 >= 1200 }, "\(wholeParsed)")
    }

    func testSchemaCSVStreamedAndSharedMatchesOneProcess() throws {
        try SchemaTrainingTests.schemaJSON.write(toFile: path("schema.json"), atomically: true, encoding: .utf8)
        try SchemaTrainingTests.rows(3000, seed: 1).write(toFile: path("train.csv"), atomically: true, encoding: .utf8)
        try SchemaTrainingTests.rows(300, seed: 2).write(toFile: path("test.csv"), atomically: true, encoding: .utf8)
        let flags = ["--schema", path("schema.json"), "--train_files", path("train.csv"), "--test_files", path("test.csv"),
                     "--batch_size", "128", "--train_batches", "10", "--loss_print_interval", "1", "--shuffle_window", "512",
                     "--expert_dnn", "8", "--tower_dnn", "4", "--num_experts", "2"]
        let one = try train("one", ranks: 1, flags, schemaMemoryBytes: 0)
        let two = try train("two", ranks: 2, flags, schemaMemoryBytes: 0)
        assertSameRun(one, two)
        XCTAssertTrue(two.out.contains { $0.contains("--smartstaged (on by default) is off") && $0.contains("ahead on loader threads") },
                      two.out.joined(separator: "\n"))
        let parsed = two.distributed["rows_parsed_per_rank"] as? [Int] ?? []
        assertShared(two, ranks: 2, total: parsed.reduce(0, +))
        XCTAssertGreaterThanOrEqual(parsed.reduce(0, +), 1280, "10 steps of 128 rows")
        XCTAssertLessThan(parsed.max() ?? 0, parsed.reduce(0, +))
    }

    /// OneFlow's Census Parquet folder streamed (`--parquet_stream on`): 9 row groups in a seeded
    /// order each epoch, shared by 2 ranks.
    func testParquetRowGroupsSharedMatchOneProcess() throws {
        let flags = ["--data_dir", ParquetStreamingTests.folder, "--parquet_stream", "on", "--batch_size", "32", "--train_batches", "24",
                     "--embedding_vec_size", "4", "--expert_dnn", "16,8", "--tower_dnn", "8", "--loss_print_interval", "1", "--seed", "5",
                     "--shuffle_window", "64"]
        let one = try train("one", ranks: 1, flags)
        let two = try train("two", ranks: 2, flags)
        assertSameRun(one, two)
        let parsed = two.distributed["rows_parsed_per_rank"] as? [Int] ?? []
        assertShared(two, ranks: 2, total: parsed.reduce(0, +))
        XCTAssertGreaterThanOrEqual(parsed.reduce(0, +), 2 * 360, "24 steps of 32 rows: two epochs of 360 rows")
    }

    /// Resuming on 2 ranks from a checkpoint replays the exchanged pieces to its step: the same
    /// weights as a straight run.
    func testResumedSharedRunEqualsStraightOne() throws {
        let dir = try taobao(train: 800)
        let flags = taobaoFlags(dir) + ["--no_eval"]
        let straight = try train("straight", ranks: 2, flags.map { $0 == "12" ? "10" : $0 })
        _ = try train("first", ranks: 2, flags.map { $0 == "12" ? "6" : $0 } + ["--checkpoint", path("ck")])
        let resumed = try train("resumed", ranks: 2, flags.map { $0 == "12" ? "10" : $0 } + ["--checkpoint", path("ck")])
        XCTAssertTrue(resumed.out.contains { $0.hasPrefix("Resuming from") }, resumed.out.joined(separator: "\n"))
        XCTAssertTrue(straight.weights == resumed.weights, "the resumed run's weights differ from the straight run's")
    }

    /// A bad line in a piece only rank 1 parses stops both ranks with its file and line.
    func testBadLineOnOneRankStopsEveryRankWithItsPlace() throws {
        let dir = try taobao(train: 400, badLine: "1,0,p1,not,enough,columns")
        let args = taobaoFlags(dir) + ["--output_dir", path("out"), "--tensorboard", "false", "--threads", "1", "--no_eval"]
        let results = try LoopbackCommunicator.run(ranks: 2) { c -> String in
            var command = TrainCommand(options: try TrainOptions.parse(args), print: { _ in }, printError: { _ in })
            command.communicator = c
            do { _ = try command.run() } catch let error as DatasetError { return "\(c.rank) \(error)" }
            return "\(c.rank) no error"
        }
        XCTAssertEqual(results.count, 2)
        for result in results {
            XCTAssertTrue(result.contains(Taobao.trainFileName + ":401"), result)
        }
        XCTAssertEqual(results[0].dropFirst(2), results[1].dropFirst(2), "every rank reports the same place")
    }

    func testExplicitSmartstagedWithASharedInputIsRefused() throws {
        let dir = try taobao(train: 200)
        let args = taobaoFlags(dir) + ["--output_dir", path("out"), "--tensorboard", "false", "--smartstaged", "true"]
        let messages = try LoopbackCommunicator.run(ranks: 2) { c -> String in
            var command = TrainCommand(options: try TrainOptions.parse(args), print: { _ in }, printError: { _ in })
            command.communicator = c
            do { _ = try command.run() } catch let error as UsageError { return error.description }
            return "no error"
        }
        for message in messages {
            XCTAssertTrue(message.contains("--smartstaged") && message.contains("--rank_input whole"), message)
        }
    }

    /// The exchanged payload carries every array bit for bit: bags, keys, NaN labels.
    func testPieceRoundTripsThroughItsPayload() throws {
        let data = TabularData(count: 2, denseWidth: 1, dense: [0.5, -.infinity], fieldCount: 2, ids: [3, 7, 9],
                               taskNames: ["ctr", "cvr"], labels: [1, .nan, 0, 1], bagOffsets: [0, 1, 1, 2, 3],
                               keys: [1, UInt64.max, 0x1234_5678_9ABC_DEF0])
        let back = try XCTUnwrap(InputShare.decode(InputShare.encode(data)[...]))
        XCTAssertEqual(back.count, 2)
        XCTAssertEqual(back.dense.map(\.bitPattern), data.dense.map(\.bitPattern))
        XCTAssertEqual(back.ids, data.ids)
        XCTAssertEqual(back.bagOffsets, data.bagOffsets)
        XCTAssertEqual(back.keys, data.keys)
        XCTAssertEqual(back.labels.map(\.bitPattern), data.labels.map(\.bitPattern))
        XCTAssertEqual(back.taskNames, data.taskNames)
        XCTAssertNil(try InputShare.decode(InputShare.encode(nil)[...]))
        let error = DatasetError(file: "a.csv", line: 12, field: "price", "not a number")
        XCTAssertEqual(InputShare.decodeError(InputShare.encode(error)[...], rank: 1) as? DatasetError, error)
    }
}
