import XCTest
import Foundation
import Tensor
@testable import Datasets
@testable import MMoE

/// A validation set on streamed data: `--valid_fraction` holds out, as the pieces stream, the rows
/// the in-memory split holds out (OneFlow's Parquet folder with `--parquet_stream on`, and a
/// schema'd Parquet file over the memory limit), and `--valid_files` on a streamed OneFlow folder
/// reads the files row group by row group as the test split is.
final class StreamedValidationTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../DatasetsTests/Fixtures/parquet/stream").standardized.path
    static let schemaFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../DatasetsTests/Fixtures/schema-parquet").standardized.path

    func load(_ arguments: [String], kind: DatasetKind, memoryBytes: Int? = nil) throws -> TrainCommand.LoadedData {
        let options = try TrainOptions.parse(arguments + ["--tensorboard", "false"])
        var command = TrainCommand(options: options, print: { _ in }, printError: { _ in })
        if let memoryBytes { command.schemaMemoryBytes = memoryBytes }
        return try command.loadData(kind, try command.schemaResolved(options.resolved(for: kind), kind))
    }

    /// Every row of `data` as text, sorted (rows compared as multisets).
    func rows(_ data: EvalData?) throws -> [String] {
        var out: [String] = []
        try XCTUnwrap(data).chunks { chunk in
            for r in 0 ..< chunk.count {
                let dense = chunk.dense[(r * chunk.denseWidth) ..< ((r + 1) * chunk.denseWidth)].map(\.bitPattern)
                let ids = (0 ..< chunk.fieldCount).map { Array(chunk.ids(row: r, field: $0)) }
                out.append("\(dense) \(ids) \(chunk.labels[(r * chunk.taskCount) ..< ((r + 1) * chunk.taskCount)].map(\.bitPattern))")
            }
        }
        return out.sorted()
    }

    /// The rows one epoch of `source` trains on.
    func epochRows(_ source: BatchSource) throws -> Int {
        var rows = 0
        for _ in 0 ..< source.batchesPerEpoch { rows += try source.next().size }
        return rows
    }

    func testValidFractionOnAStreamedOneFlowFolderHoldsOutTheRowsMemoryHoldsOut() throws {
        let base = ["--data_dir", Self.folder, "--batch_size", "32", "--shuffle_window", "64", "--valid_fraction", "0.25"]
        let streamed = try load(base + ["--parquet_stream", "on"], kind: .census)
        let memory = try load(base + ["--parquet_stream", "off"], kind: .census)
        XCTAssertEqual(streamed.validRows + streamed.trainRows, 360)
        XCTAssertGreaterThan(streamed.validRows, 45)
        XCTAssertLessThan(streamed.validRows, 135)
        XCTAssertEqual(streamed.validRows, memory.validRows)
        XCTAssertEqual(streamed.trainRows, memory.trainRows)
        XCTAssertEqual(try rows(streamed.valid), try rows(memory.valid))
        XCTAssertEqual(try epochRows(streamed.source), streamed.trainRows, "an epoch streams the kept rows only")
        // --valid_files: a folder of part files read as the test split is, both ways.
        let files = ["--data_dir", Self.folder, "--batch_size", "32", "--shuffle_window", "64", "--valid_files", Self.folder + "/test"]
        let streamedFiles = try load(files + ["--parquet_stream", "on"], kind: .census)
        let memoryFiles = try load(files + ["--parquet_stream", "off"], kind: .census)
        XCTAssertEqual(streamedFiles.validRows, 60)
        XCTAssertEqual(streamedFiles.trainRows, 360)
        XCTAssertEqual(try rows(streamedFiles.valid), try rows(memoryFiles.valid))
    }

    func testValidFractionOnStreamedSchemaParquet() throws {
        let base = ["--schema", Self.schemaFixtures + "/schema.json", "--train_files", Self.schemaFixtures + "/train.parquet",
                    "--test_files", Self.schemaFixtures + "/test.parquet", "--batch_size", "8", "--shuffle_window", "16", "--valid_fraction", "0.3"]
        let streamed = try load(base, kind: .schema, memoryBytes: 0)
        let memory = try load(base, kind: .schema)
        XCTAssertEqual(streamed.validRows + streamed.trainRows, 64)
        XCTAssertGreaterThan(streamed.validRows, 5)
        XCTAssertEqual(streamed.validRows, memory.validRows)
        XCTAssertEqual(try rows(streamed.valid).count, streamed.validRows)
        XCTAssertEqual(try epochRows(streamed.source), streamed.trainRows)
    }
}
