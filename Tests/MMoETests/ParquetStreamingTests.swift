import XCTest
import Foundation
import Tensor
@testable import Datasets
@testable import MMoE

/// A Parquet folder streamed to the trainer (`--parquet_stream`): row groups in a seeded order
/// each epoch, rows shuffled within a window, memory bounded by the window and the row groups read
/// ahead, a corrupt row group found mid-training stopping the run with its name and the
/// checkpoints intact. The folder is the committed `Fixtures/parquet/stream/` (3 files x 3 row
/// groups x 40 rows, a test file of 60 rows).
final class ParquetStreamingTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../DatasetsTests/Fixtures/parquet/stream").standardized.path

    /// Each row of a batch as text (dense inputs, ids, labels), to compare rows as multisets.
    static func rows(_ batch: Batch) -> [String] {
        let dense = batch.dense.scalars, labels = batch.labels.scalars
        let f = batch.ids.count / batch.size, d = dense.count / batch.size
        return (0 ..< batch.size).map { r in
            "\(dense[(r * d) ..< ((r + 1) * d)]) \(batch.ids[(r * f) ..< ((r + 1) * f)]) \(labels[r]) \(labels[batch.size + r])"
        }
    }

    static func rows(_ data: TabularData) -> [String] { rows(Batch(data, rows: 0 ..< data.count)) }

    func source(seed: UInt64, window: Int = 64, loaders: Int = 1, prefetch: Bool = false) throws -> (BatchSource, FileBatchSource) {
        let stream = try CensusParquet.openStream(directory: Self.folder)
        let file = FileBatchSource(SlicedFile(stream, seed: seed), batchSize: 32, window: window, seed: seed, loaderThreads: loaders)
        return (prefetch ? PrefetchingSource(file, depth: 3) : file, file)
    }

    func testEpochsHoldEveryRowOnceInASeededOrder() throws {
        let memory = Self.rows(try CensusParquet.load(directory: Self.folder).train).sorted()
        XCTAssertEqual(memory.count, 360)
        func epochs(seed: UInt64, loaders: Int = 1, prefetch: Bool = false) throws -> [[String]] {
            let (source, _) = try source(seed: seed, loaders: loaders, prefetch: prefetch)
            XCTAssertEqual(source.batchesPerEpoch, 12)
            return try (0 ..< 3).map { _ in try (0 ..< 12).flatMap { _ in Self.rows(try source.next()) } }
        }
        let reference = try epochs(seed: 7)
        for epoch in reference { XCTAssertEqual(epoch.sorted(), memory, "each epoch holds the rows load reads, each once") }
        XCTAssertNotEqual(reference[0], reference[1], "epochs are shuffled differently")
        XCTAssertEqual(try epochs(seed: 7, loaders: 3, prefetch: true), reference, "the same seed gives the same batches, whatever the loaders")
        let other = try epochs(seed: 8)
        XCTAssertNotEqual(other[0], reference[0])
        XCTAssertEqual(other[0].sorted(), memory)

        // The row groups' order: a permutation per epoch, reproducible, different across epochs and seeds.
        let order = SlicedFile.seededOrder(count: 9, seed: 7)
        XCTAssertEqual(order(0).sorted(), Array(0 ..< 9))
        XCTAssertEqual(order(0), SlicedFile.seededOrder(count: 9, seed: 7)(0))
        XCTAssertNotEqual(order(0), order(1))
        XCTAssertNotEqual(order(0), SlicedFile.seededOrder(count: 9, seed: 8)(0))
    }

    func testMemoryHoldsTheWindowAndTheRowGroupsAheadNotTheFolder() throws {
        for loaders in [1, 3] {
            let (source, file) = try source(seed: 3, window: 64, loaders: loaders)
            for _ in 0 ..< 24 { _ = try source.next() }  // 2 epochs
            // A window of 64 rows and the rest (under 40 rows) of the last row group read.
            XCTAssertLessThanOrEqual(file.peakBufferedRows, 64 + 39, "loaders \(loaders)")
            XCTAssertGreaterThanOrEqual(file.peakBufferedRows, 64)
            XCTAssertLessThanOrEqual(file.peakPiecesAhead, loaders + 1, "loaders \(loaders)")
            XCTAssertGreaterThanOrEqual(file.peakPiecesAhead, 1)
        }
    }

    /// OneFlow-like flags, small: 2 epochs of 12 steps.
    func arguments(_ dir: String, out: String, seed: Int = 5) -> [String] {
        ["--data_dir", dir, "--output_dir", out, "--batch_size", "32", "--train_batches", "24", "--embedding_vec_size", "4",
         "--expert_dnn", "16,8", "--tower_dnn", "8", "--threads", "1", "--loss_print_interval", "12", "--seed", "\(seed)",
         "--shuffle_window", "64", "--tensorboard", "false"]
    }

    func run(_ arguments: [String]) throws -> (TrainingSummary, [String]) {
        var lines: [String] = []
        let command = TrainCommand(options: try TrainOptions.parse(arguments), print: { lines.append($0) }, printError: { lines.append($0) })
        return (try command.run(), lines)
    }

    func testTrainsOnAStreamedFolderReproducibly() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("pqst-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let (first, lines) = try run(arguments(Self.folder, out: tmp + "/a") + ["--parquet_stream", "on"])
        XCTAssertEqual(first.steps, 24)
        XCTAssertEqual(first.finalEvaluation?.samples, 60)
        XCTAssertTrue(lines.contains { $0.hasPrefix("Streaming \(Self.folder): 9 row groups of 3 training files") }, lines.joined(separator: "\n"))
        let again = try run(arguments(Self.folder, out: tmp + "/b") + ["--parquet_stream", "on"]).0
        XCTAssertEqual(again.finalEvaluation?.logLoss, first.finalEvaluation?.logLoss, "a seed gives the same run")
        // auto: a folder this small is read into memory.
        let (memory, memoryLines) = try run(arguments(Self.folder, out: tmp + "/d"))
        XCTAssertFalse(memoryLines.contains { $0.hasPrefix("Streaming") })
        XCTAssertEqual(memory.finalEvaluation?.samples, 60)

        XCTAssertThrowsError(try run(arguments(Self.folder, out: tmp + "/e") + ["--parquet_stream", "on", "--shuffle_window", "16"])) {
            XCTAssertEqual("\($0)", "--shuffle_window 16 is smaller than --batch_size 32; a window must hold a batch")
        }
        XCTAssertThrowsError(try run(["--parquet_stream", "on", "--output_dir", tmp + "/f"])) {
            XCTAssertTrue("\($0)".hasPrefix("--parquet_stream on streams OneFlow's Census Parquet folder"), "\($0)")
        }
    }

    func testResumedStreamedRunEqualsTheStraightRun() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("pqsr-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        // 30 steps of 32 over 360 rows: the resume at step 14 is inside the second epoch's order.
        func train(_ steps: Int, _ ck: String, _ out: String) throws -> TrainingSummary {
            var args = arguments(Self.folder, out: tmp + "/" + out) + ["--parquet_stream", "on", "--checkpoint", tmp + "/" + ck, "--save_steps", "14", "--no_eval"]
            args[args.firstIndex(of: "--train_batches")! + 1] = "\(steps)"
            return try run(args).0
        }
        _ = try train(30, "straight", "a")
        _ = try train(14, "ck", "b")
        _ = try train(30, "ck", "c")
        for file in [ModelCheckpoint.fileName, OptimizerCheckpoint.fileName] {
            let a = try Data(contentsOf: URL(fileURLWithPath: "\(tmp)/ck/model.ckpt-30/\(file)"))
            let b = try Data(contentsOf: URL(fileURLWithPath: "\(tmp)/straight/model.ckpt-30/\(file)"))
            XCTAssertTrue(a == b, "\(file) differs between the resumed and the straight run")
        }
    }

    func testCorruptRowGroupMidTrainingEndsTheRunWithItsNameAndKeepsTheCheckpoints() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("pqsc-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let dir = tmp + "/data"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.folder, toPath: dir)
        let path = dir + "/train/part-00001-stream-c000.snappy.parquet"
        let range = try ParquetFile(path: path).byteRange(column: "weeks_worked", rowGroup: 1)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        bytes.replaceSubrange(range, with: [UInt8](repeating: 0, count: range.count))  // zeros: no valid page header
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        // Row group 1 of the second file is the 5th in file order; with seed 5 it is read after at
        // least 2 others in the first epoch, so checkpoints are saved before it is reached.
        let position = try XCTUnwrap(SlicedFile.seededOrder(count: 9, seed: 5)(0).firstIndex(of: 4))
        XCTAssertGreaterThanOrEqual(position, 2)
        let ck = tmp + "/ck"
        XCTAssertThrowsError(try run(arguments(dir, out: tmp + "/out") + ["--parquet_stream", "on", "--checkpoint", ck, "--save_steps", "1",
                                                                          "--keep_checkpoint_max", "100"])) { error in
            XCTAssertTrue(error is DatasetError, "a DatasetError: mmoe-train exits with 2; got \(type(of: error))")
            XCTAssertTrue("\(error)".hasPrefix(path + " field weeks_worked: row group 1: "), "\(error)")
        }
        // Every checkpoint saved before the error is complete and loads; nothing half-written is left.
        let names = try FileManager.default.contentsOfDirectory(atPath: ck).sorted()
        XCTAssertFalse(names.isEmpty)
        let saved = CheckpointDirectory(path: ck, keep: 100).all()
        XCTAssertEqual(saved.count, names.count, "\(names)")
        for (checkpoint, step) in saved {
            XCTAssertGreaterThan(step, 0)
            XCTAssertNoThrow(try ModelCheckpoint.metadata(in: checkpoint))
            let files = try FileManager.default.contentsOfDirectory(atPath: checkpoint)
            XCTAssertFalse(files.contains { $0.hasPrefix(".") || $0.hasSuffix(".tmp") }, "\(files)")
        }
    }
}
