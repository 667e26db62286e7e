import XCTest
import Tensor
import Datasets
@testable import MMoE

/// The Taobao path from file to update: bag fields through batches and the model, the streaming
/// source, micro-batches, and the command with DeepRec's flags.
final class TaobaoTrainingTests: XCTestCase {
    /// `n` Taobao-layout lines whose click depends on the user id's parity and the price, with
    /// tag lists of 0 to 4 ids and some empty fields.
    static func lines(_ n: Int, seed: UInt64) -> String {
        var rng = SeededRNG(seed: seed)
        func r(_ bound: Int) -> Int { Int(rng.next() % UInt64(bound)) }
        return (0..<n).map { _ -> String in
            let user = r(40), price = r(50)
            let clk = (user % 2 == 0) != (price < 10) ? (r(10) < 8 ? 1 : 0) : (r(10) < 1 ? 1 : 0)
            let buy = clk == 1 && price < 25 ? 1 : 0
            var c = ["\(clk)", "\(buy)", "p\(r(3))", "\(r(100))", "\(r(20))", "\(r(100))", "\(r(100))", r(8) == 0 ? "" : "\(r(100))",
                     "\(user)", "\(r(5))", "\(r(5))", "\(r(2))", "\(r(6))", r(5) == 0 ? "" : "\(r(3))", "\(r(3))", "\(r(2))", "\(r(4))"]
            c.append((0..<r(5)).map { _ in "\(r(30))" }.joined(separator: "|"))
            c.append((0..<r(3)).map { _ in "\(r(30))" }.joined(separator: "|"))
            c.append("\(price)")
            return c.joined(separator: ",")
        }.joined(separator: "\n") + "\n"
    }

    func directory(train: Int, test: Int) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmoe-taobao-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        try Self.lines(train, seed: 1).write(to: url.appendingPathComponent(Taobao.trainFileName), atomically: true, encoding: .utf8)
        try Self.lines(test, seed: 2).write(to: url.appendingPathComponent(Taobao.testFileName), atomically: true, encoding: .utf8)
        return url.path
    }

    func smallConfig() -> MMoEConfig {
        var c = MMoEConfig.deepRec(fieldRows: Taobao.schema.fieldRows)
        c.embeddingDim = 3
        c.expertDNN = [8, 4]
        c.towerDNN = [4]
        return c
    }

    func testBatchesCarryBagsAndPerFieldLookupsEqualTheFusedOne() throws {
        let dir = try directory(train: 40, test: 5)
        let data = try Taobao.load(path: dir + "/" + Taobao.trainFileName)
        let batch = Batch(data, rows: [3, 0, 7, 12, 5])
        XCTAssertEqual(batch.bagOffsets?.count, 5 * 17 + 1)
        for (i, r) in [3, 0, 7, 12, 5].enumerated() {
            for f in 0..<17 {
                let o = batch.bagOffsets!
                XCTAssertEqual(Array(batch.ids[Int(o[i * 17 + f])..<Int(o[i * 17 + f + 1])]), Array(data.ids(row: r, field: f)))
            }
        }
        let part = batch.rows(2..<4), whole = Batch(data, rows: [7, 12])
        XCTAssertEqual(part.ids, whole.ids)
        XCTAssertEqual(part.bagOffsets, whole.bagOffsets)

        let model = try MMoEModel(smallConfig(), seed: 4)
        var rng = SeededRNG(seed: 0)
        var results: [(logits: [Float], dense: [Float], rows: [Int32: [Float]])] = []
        for fused in [true, false] {
            model.fuseEmbeddingLookups = fused
            let tape = Tape()
            let logits = model.logits(batch, tape: tape, training: false, rng: &rng)
            tape.backward(model.loss(logits: logits, labels: batch.labels))
            let table = model.embedding!
            results.append((logits.value.scalars, model.parameters.grads.scalars,
                            Dictionary(uniqueKeysWithValues: table.touchedRows.map { ($0, table.gradient(ofRow: Int($0))) })))
            model.parameters.zeroGrad()
            table.zeroGrad()
        }
        XCTAssertEqual(results[0].logits, results[1].logits)
        XCTAssertEqual(results[0].rows.keys.sorted(), results[1].rows.keys.sorted())
        for (row, g) in results[0].rows {
            for (a, b) in zip(g, results[1].rows[row]!) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        }
        for (a, b) in zip(results[0].dense, results[1].dense) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        // An empty tag list is a zero vector: the mean of no rows.
        let offsets = batch.bagOffsets!
        let empty = (0..<5).first { (i: Int) -> Bool in offsets[i * 17 + 14] == offsets[i * 17 + 15] }
        XCTAssertNotNil(empty, "the fixture should give an empty tag_category_list in these rows")
        if let i = empty {
            let x = model.input(batch, tape: Tape(recording: false)).value
            XCTAssertEqual(Array(x.select(0, i).scalars[(14 * 3)..<(15 * 3)]), [0, 0, 0])
        }
    }

    func testMicroBatchesEqualOneBatchOfAllTheirRows() throws {
        let dir = try directory(train: 96, test: 5)
        let data = try Taobao.load(path: dir + "/" + Taobao.trainFileName)
        var results: [[Float]] = []
        for split in [false, true] {
            let model = try MMoEModel(smallConfig(), seed: 9)
            var s = TrainerSettings()
            s.batchShards = 1
            s.learningRate = 0.05
            let trainer = Trainer(model: model, train: data, test: data, settings: s)
            for step in 0..<3 {
                let rows = Array((step * 32)..<((step + 1) * 32))
                if split {
                    trainer.trainStep([Batch(data, rows: rows[0..<8]), Batch(data, rows: rows[8..<20]), Batch(data, rows: rows[20..<32])])
                } else {
                    trainer.trainStep(Batch(data, rows: rows))
                }
            }
            results.append(model.parameters.values.scalars + model.embedding!.value.scalars)
        }
        var worst: Float = 0
        for (a, b) in zip(results[0], results[1]) { worst = max(worst, abs(a - b)) }
        XCTAssertLessThan(worst, 1e-5)
    }

    func testFileSourceReadsEveryRowOncePerEpochWhateverTheLoaderThreads() throws {
        let dir = try directory(train: 203, test: 5)
        let path = dir + "/" + Taobao.trainFileName
        let rows = try Taobao.countRows(path: path)
        XCTAssertEqual(rows, 203)
        func sequence(loaders: Int, slices: Int, prefetch: Bool) throws -> [[Int32]] {
            let file = SlicedFile(rows: rows, slices: try Taobao.fileSlices(path: path, count: slices)) { slice, body in
                try Taobao.read(path: path, slice: slice, chunkRows: 17, options: TaobaoOptions(), body)
            }
            var source: BatchSource = FileBatchSource(file, batchSize: 20, window: 64, seed: 3, loaderThreads: loaders)
            if prefetch { source = PrefetchingSource(source, depth: 3) }
            XCTAssertEqual(source.batchesPerEpoch, 11)
            return try (0..<33).map { _ in try source.next().ids }
        }
        let reference = try sequence(loaders: 1, slices: 1, prefetch: false)
        XCTAssertEqual(try sequence(loaders: 1, slices: 7, prefetch: false), reference)
        XCTAssertEqual(try sequence(loaders: 3, slices: 7, prefetch: false), reference)
        XCTAssertEqual(try sequence(loaders: 2, slices: 5, prefetch: true), reference)
        // Each epoch: 10 batches of 20 rows and one of 3, holding every row's ids once.
        let all = try Taobao.load(path: path)
        let expected = (0..<203).map { Array(all.ids[Int(all.bagOffsets![$0 * 17])..<Int(all.bagOffsets![($0 + 1) * 17])]) }
        for epoch in 0..<3 {
            let batches = reference[(epoch * 11)..<((epoch + 1) * 11)]
            XCTAssertEqual(batches.map(\.count).reduce(0, +), expected.map(\.count).reduce(0, +))
            XCTAssertEqual(batches.joined().sorted(), expected.joined().sorted())
        }
        XCTAssertNotEqual(reference[0], reference[11], "epochs are shuffled differently")
    }

    func testCommandTrainsTaobaoWithDeepRecFlagsAndResumesFromItsCheckpoint() throws {
        let dir = try directory(train: 300, test: 100)
        let out = dir + "/out", ck = dir + "/ck"
        let common = ["--data_location", dir, "--output_dir", out, "--checkpoint", ck, "--batch_size", "32",
                      "--embedding_vec_size", "4", "--expert_dnn", "16,8", "--tower_dnn", "8", "--keep_checkpoint_max", "2",
                      "--loss_print_interval", "5", "--save_steps", "5"]
        var lines: [String] = []
        let first = TrainCommand(options: try TrainOptions.parse(common + ["--steps", "20"]), print: { lines.append($0) }, printError: { _ in })
        let summary = try first.run()
        XCTAssertEqual(summary.steps, 20)
        XCTAssertNotNil(summary.finalEvaluation)
        let kept = try FileManager.default.contentsOfDirectory(atPath: ck).sorted()
        XCTAssertEqual(kept, ["model.ckpt-15", "model.ckpt-20"])
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as! [String: Any]
        let eval = json["eval"] as! [String: Any], train = json["train"] as! [String: Any]
        XCTAssertNotNil(eval["pooled_auc"] as? Double)
        XCTAssertNotNil(train["global_steps_per_sec"] as? Double)
        XCTAssertEqual(Set((eval["auc"] as! [String: Any]).keys), ["ctr", "cvr"])
        XCTAssertTrue(lines.contains { $0.contains("AUC_pooled") })

        lines = []
        let second = TrainCommand(options: try TrainOptions.parse(common + ["--steps", "30", "--no_eval"]), print: { lines.append($0) }, printError: { _ in })
        let resumed = try second.run()
        XCTAssertTrue(lines.contains { $0.hasPrefix("Resuming from \(ck)/model.ckpt-20") }, lines.joined(separator: "\n"))
        XCTAssertEqual(resumed.steps, 30, "a resumed run reports the whole run (issue 19, defect 11)")
        XCTAssertNil(resumed.finalEvaluation)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: ck).sorted(), ["model.ckpt-25", "model.ckpt-30"])

        // Exact resume: 20 steps, then 10 more from the checkpoint, equal 30 steps straight.
        let straight = dir + "/straight"
        var options = try TrainOptions.parse(common + ["--steps", "30", "--no_eval"])
        options.checkpoint = straight
        _ = try TrainCommand(options: options, print: { _ in }, printError: { _ in }).run()
        for file in [ModelCheckpoint.fileName, OptimizerCheckpoint.fileName] {
            let a = try Data(contentsOf: URL(fileURLWithPath: "\(ck)/model.ckpt-30/\(file)"))
            let b = try Data(contentsOf: URL(fileURLWithPath: "\(straight)/model.ckpt-30/\(file)"))
            XCTAssertTrue(a == b, "\(file) differs between the resumed and the straight run")
        }
    }

    /// Each printed step's losses from `metrics.jsonl`.
    func losses(_ out: String) throws -> [[Double]] {
        let text = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8)
        return try text.split(separator: "\n").compactMap { line -> [Double]? in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            guard object["type"] as? String == "train", let loss = object["loss"] as? [String: Double] else { return nil }
            return [loss["ctr"]!, loss["cvr"]!]
        }
    }

    func testPlainTfBaselineGivesTheSameLossesAsTheOptimisedMode() throws {
        let dir = try directory(train: 200, test: 50)
        let common = ["--data_location", dir, "--batch_size", "32", "--steps", "6", "--loss_print_interval", "1", "--no_eval",
                      "--embedding_vec_size", "4", "--expert_dnn", "16,8", "--tower_dnn", "8"]
        _ = try TrainCommand(options: try TrainOptions.parse(common + ["--output_dir", dir + "/fast"]), print: { _ in }, printError: { _ in }).run()
        _ = try TrainCommand(options: try TrainOptions.parse(common + ["--output_dir", dir + "/tf", "--tf"]), print: { _ in }, printError: { _ in }).run()
        let fast = try losses(dir + "/fast"), plain = try losses(dir + "/tf")
        XCTAssertEqual(fast.count, 6)
        XCTAssertEqual(plain.count, 6)
        for (a, b) in zip(fast, plain) {
            XCTAssertEqual(a[0], b[0], accuracy: 1e-5)
            XCTAssertEqual(a[1], b[1], accuracy: 1e-5)
        }
        // bfloat16 GEMM inputs: the same run, close but not equal.
        _ = try TrainCommand(options: try TrainOptions.parse(common + ["--output_dir", dir + "/bf16", "--bf16"]), print: { _ in }, printError: { _ in }).run()
        let half = try losses(dir + "/bf16")
        XCTAssertNotEqual(half, fast)
        for (a, b) in zip(fast, half) { XCTAssertEqual(a[0], b[0], accuracy: 0.02) }
    }

    func testTimelineIsAChromeTraceOfTheStep() throws {
        let dir = try directory(train: 100, test: 20)
        let out = dir + "/out"
        _ = try TrainCommand(options: try TrainOptions.parse(["--data_location", dir, "--batch_size", "32", "--steps", "4", "--timeline", "2",
                                                              "--output_dir", out, "--embedding_vec_size", "4", "--expert_dnn", "16",
                                                              "--tower_dnn", "8", "--no_eval"]),
                             print: { _ in }, printError: { _ in }).run()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix("timeline") }.sorted(),
                       ["timeline_step_2.json", "timeline_step_4.json"])
        let trace = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/timeline_step_4.json"))) as! [String: Any]
        let events = try XCTUnwrap(trace["traceEvents"] as? [[String: Any]])
        for e in events {
            XCTAssertNotNil(e["name"] as? String)
            XCTAssertNotNil(e["cat"] as? String)
            XCTAssertEqual(e["ph"] as? String, "X")
            XCTAssertNotNil(e["ts"] as? Double)
            XCTAssertGreaterThanOrEqual(try XCTUnwrap(e["dur"] as? Double), 0)
            XCTAssertNotNil(e["pid"] as? Int)
            XCTAssertNotNil(e["tid"] as? Int)
        }
        let names = Set(events.compactMap { $0["name"] as? String })
        for name in ["train_step", "next_batch", "embedding_bag", "linear", "linear.backward", "softmax", "gated_mixture",
                     "bce_with_logits", "optimizer.adagrad", "l2_regularization"] {
            XCTAssertTrue(names.contains(name), "\(name) missing from \(names.sorted())")
        }
    }

    func testParameterCountsOfTheDeepRecModelsByHand() throws {
        let rows = Taobao.schema.fieldRows.reduce(0, +)
        XCTAssertEqual(rows, 710_310)
        let embedding = rows * 16
        // One expert 272-256-192-128-64; a gate 272->4 with bias; a tower on h-256-192-128-64-1.
        let expert = 272 * 256 + 256 + 256 * 192 + 192 + 192 * 128 + 128 + 128 * 64 + 64
        let gate = 272 * 4 + 4
        func tower(_ h: Int) -> Int { h * 256 + 256 + 256 * 192 + 192 + 192 * 128 + 128 + 128 * 64 + 64 + 64 + 1 }
        let mmoe = try MMoEModel(.deepRec(fieldRows: Taobao.schema.fieldRows), seed: 1)
        XCTAssertEqual(mmoe.parameterCount, embedding + 4 * expert + 2 * gate + 2 * tower(64))
        XCTAssertEqual(mmoe.parameterCount, 12_173_930)
        var c = MMoEConfig.deepRec(fieldRows: Taobao.schema.fieldRows)
        c.kind = .simpleMultitask
        let simple = try MMoEModel(c, seed: 1)
        XCTAssertEqual(simple.parameterCount, embedding + 2 * tower(272))
        XCTAssertNil(simple.parameters["experts.layers.0.weight"])
        XCTAssertEqual(simple.parameters["towers.layers.0.weight"]?.shape, [2, 272, 256])
    }
}
