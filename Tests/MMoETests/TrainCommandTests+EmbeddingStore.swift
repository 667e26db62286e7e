import XCTest
import Foundation
import Datasets
@testable import MMoE

/// `mmoe-train` with the embedding-store flags: what it prints and writes, and what it refuses.
extension TrainCommandTests {
    func taobaoDirectory(train: Int, test: Int) throws -> String {
        let dir = try temporaryDirectory()
        try TaobaoTrainingTests.lines(train, seed: 1).write(toFile: dir + "/" + Taobao.trainFileName, atomically: true, encoding: .utf8)
        try TaobaoTrainingTests.lines(test, seed: 2).write(toFile: dir + "/" + Taobao.testFileName, atomically: true, encoding: .utf8)
        return dir
    }

    static let smallTaobao = ["--embedding_vec_size", "4", "--expert_dnn", "16, 8", "--tower_dnn", "8", "--batch_size", "32",
                              "--steps", "30", "--loss_print_interval", "10", "--threads", "1"]

    /// `--ev True --ev_filter counter` on Taobao-shaped data: the store's line after each
    /// evaluation and in summary.json, rows = admissions (nothing evicted), and fewer rows than the
    /// distinct values seen in training, since values seen fewer than 3 times get none.
    func testEVWithCounterFilterTrainsTaobaoAndReportsTheStore() throws {
        let data = try taobaoDirectory(train: 400, test: 100), out = try temporaryDirectory()
        let r = try run(["--data_location", data, "--ev", "True", "--ev_filter", "counter", "--output_dir", out] + Self.smallTaobao)
        XCTAssertTrue(r.out.contains { $0.hasPrefix("Embedding store: dynamic; one row per raw 64-bit key; admitted at the 3rd sighting (counter)") },
                      r.out.joined(separator: "\n"))
        let storeLine = try XCTUnwrap(r.out.first { $0.hasPrefix("Embedding_store rows ") })
        XCTAssertTrue(storeLine.contains("evictions 0"), storeLine)
        let store = try XCTUnwrap(readJSON(out + "/summary.json")["embedding_store"] as? [String: Any])
        XCTAssertEqual(store["kind"] as? String, "dynamic")
        let rows = try XCTUnwrap(store["rows"] as? Int)
        XCTAssertEqual(rows, store["admissions"] as? Int)
        XCTAssertGreaterThan(store["zero_lookups"] as? Int ?? 0, 0)
        let train = try Taobao.load(path: data + "/" + Taobao.trainFileName, options: TaobaoOptions(keepKeys: true))
        let distinct = Set(train.keys!).count
        XCTAssertGreaterThan(rows, 0)
        XCTAssertLessThan(rows, distinct)
        XCTAssertEqual(r.summary.steps, 30)
        XCTAssertTrue(r.summary.finalEvaluation!.auc.allSatisfy(\.isFinite))
    }

    /// Every store kind runs end to end (Taobao, and Census with its vocabulary keys), with eviction.
    func testEveryStoreKindRunsOnTaobaoAndCensus() throws {
        let taobao = try taobaoDirectory(train: 200, test: 50), census = try censusDirectory()
        let runs: [([String], String)] = [
            (["--data_location", taobao, "--adaptive_emb", "True"] + Self.smallTaobao, "adaptive"),
            (["--data_location", taobao, "--multihash", "True", "--optimizer", "adam"] + Self.smallTaobao, "multihash"),
            (["--data_location", taobao, "--ev", "True", "--ev_filter", "cbf", "--ev_elimination", "gstep", "--ev_steps_to_live", "5",
              "--ev_eviction_interval", "10"] + Self.smallTaobao, "dynamic"),
            (["--data_dir", census, "--ev", "True", "--ev_elimination", "l2", "--ev_l2_weight_threshold", "0.1", "--ev_eviction_interval", "4",
              "--train_batches", "6", "--batch_size", "16", "--expert_dnn", "8", "--threads", "1"], "dynamic"),
        ]
        for (args, kind) in runs {
            let out = try temporaryDirectory()
            let r = try run(args + ["--output_dir", out])
            let store = try XCTUnwrap(readJSON(out + "/summary.json")["embedding_store"] as? [String: Any], "\(args)")
            XCTAssertEqual(store["kind"] as? String, kind, "\(args)")
            XCTAssertGreaterThan(store["rows"] as? Int ?? 0, 0, "\(args)")
            XCTAssertTrue(r.summary.finalEvaluation!.auc.allSatisfy(\.isFinite), "\(args)")
            if args.contains("--ev_elimination") {
                XCTAssertGreaterThan(store["evictions"] as? Int ?? 0, 0, "\(args): eviction ran")
            }
        }
    }

    func testStoreFlagsOnDataWithoutSparseFieldsAreRefused() throws {
        XCTAssertThrowsError(try run(["--ev", "True", "--train_batches", "1"])) { error in
            XCTAssertTrue("\(error)".contains("--ev True: the built-in synthetic data has no sparse fields"), "\(error)")
        }
        XCTAssertThrowsError(try run(["--store_type", "cached_ssd", "--persistent_path", "/tmp/never-created", "--train_batches", "1"])) { error in
            XCTAssertTrue("\(error)".contains("--store_type cached_ssd --persistent_path: the built-in synthetic data has no sparse fields"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/never-created"))
    }
}
