import XCTest
import Foundation
import Tensor
@testable import MMoE

/// Damaged, foreign and mismatched checkpoint files: each gives an error naming the file, never a
/// crash, and leaves the model exactly as it was. A crash during a save leaves the previous
/// checkpoint usable.
final class CheckpointCorruptionTests: XCTestCase {
    func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmoe-ckpt-corrupt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    /// Every value of `model`, as bit patterns.
    func snapshot(_ model: MMoEModel) -> [UInt32] {
        (model.parameters.values.scalars + (model.embedding?.value.scalars ?? [])).map(\.bitPattern)
    }

    /// Checks that loading `bytes` as a model file fails with a message naming the file (and
    /// containing `expected`, when given) and changes nothing. The bytes are parsed in memory
    /// (`SafeTensors.read` of the data, then `ModelCheckpoint.load(into:from: file)`, the two
    /// halves of a load from disk), because rewriting a file thousands of times costs this
    /// machine's disk milliseconds each; `testDamagedFilesOnDiskAreRefused` covers the read.
    func assertRefused(_ bytes: Data, into model: MMoEModel, _ expected: String? = nil, _ context: String,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let path = "/checkpoints/step-7/" + ModelCheckpoint.fileName
        let before = snapshot(model)
        XCTAssertThrowsError(try ModelCheckpoint.load(into: model, from: try SafeTensors.read(bytes, file: path)), context, file: file, line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix(path + ": "), "\(context): \(text)", file: file, line: line)
            if let expected { XCTAssertTrue(text.contains(expected), "\(context): \(text)", file: file, line: line) }
        }
        XCTAssertEqual(snapshot(model), before, "\(context): the model changed", file: file, line: line)
    }

    func testDamagedFilesOnDiskAreRefused() throws {
        let config = CheckpointFormatTests.smallConfig()
        let bytes = try savedFile(config)
        let model = try MMoEModel(config, seed: 2)
        let before = snapshot(model)
        var flipped = bytes
        flipped[bytes.count - 5] ^= 0x10   // a data byte
        let cases: [(Data, String)] = [(bytes.prefix(bytes.count - 1), "truncated"), (bytes.prefix(5), "too short"),
                                       (flipped, "checksum mismatch"), (Data("{}".utf8), "too short")]
        for (data, expected) in cases {
            let dir = try temporaryDirectory()
            try data.write(to: URL(fileURLWithPath: dir + "/" + ModelCheckpoint.fileName))
            XCTAssertThrowsError(try ModelCheckpoint.load(into: model, from: dir)) {
                XCTAssertTrue("\($0)".hasPrefix(dir + "/" + ModelCheckpoint.fileName + ": ") && "\($0)".contains(expected), "\($0)")
            }
            XCTAssertEqual(snapshot(model), before)
        }
        // A directory where the file should be.
        let dir = try temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir + "/" + ModelCheckpoint.fileName, withIntermediateDirectories: false)
        XCTAssertThrowsError(try ModelCheckpoint.load(into: model, from: dir)) { XCTAssertTrue("\($0)".contains("cannot be read"), "\($0)") }
    }

    func savedFile(_ config: MMoEConfig, seed: UInt64 = 1) throws -> Data {
        let dir = try temporaryDirectory()
        try ModelCheckpoint.save(try MMoEModel(config, seed: seed), to: dir)
        return try Data(contentsOf: URL(fileURLWithPath: dir + "/" + ModelCheckpoint.fileName))
    }

    func testTruncationAtEveryLengthIsRefused() throws {
        let config = CheckpointFormatTests.smallConfig()
        let bytes = try savedFile(config)
        let model = try MMoEModel(config, seed: 2)
        let headerEnd = 8 + Int(bytes[0]) + Int(bytes[1]) << 8
        for length in 0..<bytes.count {
            let expected = length < 8 ? "too short" : length < headerEnd ? "follow (truncated" : "truncated"
            try assertRefused(bytes.prefix(length), into: model, expected, "truncated to \(length) of \(bytes.count)")
        }
    }

    func testFlippedHeaderBytesAreRefused() throws {
        let config = CheckpointFormatTests.smallConfig()
        let bytes = try savedFile(config)
        let model = try MMoEModel(config, seed: 2)
        let headerEnd = 8 + Int(bytes[0]) + Int(bytes[1]) << 8
        var rng = SeededRNG(seed: 11)
        for i in 0..<headerEnd {
            // One low bit (a digit or letter off by one, a space turned into "!") and a random mask.
            for mask in [UInt8(1), UInt8(truncatingIfNeeded: rng.next() | 1)] {
                var damaged = bytes
                damaged[i] ^= mask
                try assertRefused(damaged, into: model, nil, "header byte \(i) ^ \(mask)")
            }
        }
    }

    func testFlippedDataBytesAreRefusedByTheChecksum() throws {
        let config = CheckpointFormatTests.smallConfig()
        let bytes = try savedFile(config)
        let model = try MMoEModel(config, seed: 2)
        let headerEnd = 8 + Int(bytes[0]) + Int(bytes[1]) << 8
        var rng = SeededRNG(seed: 12)
        var positions = [headerEnd, bytes.count - 1]
        for _ in 0..<300 { positions.append(headerEnd + Int(rng.next() % UInt64(bytes.count - headerEnd))) }
        for i in positions {
            var damaged = bytes
            damaged[i] ^= UInt8(truncatingIfNeeded: rng.next() % 255 + 1)
            try assertRefused(damaged, into: model, "checksum mismatch", "data byte \(i)")
        }
        // A swap of two different 4-byte values keeps the length and the multiset of bytes.
        var swapped = bytes
        let a = headerEnd, b = bytes.count - 4
        let first = swapped[a..<(a + 4)], last = swapped[b..<(b + 4)]
        XCTAssertNotEqual(Array(first), Array(last))
        swapped.replaceSubrange(a..<(a + 4), with: Array(last))
        swapped.replaceSubrange(b..<(b + 4), with: Array(first))
        try assertRefused(swapped, into: model, "checksum mismatch", "swapped values")
    }

    func testForeignFilesAreRefused() throws {
        let model = try MMoEModel(CheckpointFormatTests.smallConfig(), seed: 2)
        try assertRefused(Data(), into: model, "too short", "empty file")
        try assertRefused(Data("not a checkpoint at all\n".utf8), into: model, "not a safetensors file", "text")
        try assertRefused(Data(repeating: 0xFF, count: 64), into: model, "not a safetensors file", "all ones")
        var rng = SeededRNG(seed: 13)
        try assertRefused(Data((0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }), into: model, nil, "random bytes")
        // A zip file's magic, then something plausible.
        try assertRefused(Data([0x50, 0x4B, 0x03, 0x04] + Array(repeating: 0, count: 60)), into: model, nil, "zip")
        // A well-formed safetensors file written by another tool: no checksum.
        let json = Array(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#.utf8)
        let foreign = Data([UInt8(json.count), 0, 0, 0, 0, 0, 0, 0] + json + [0, 0, 128, 63])
        try assertRefused(foreign, into: model, "no checksum", "another tool's file")
        XCTAssertEqual(try SafeTensors.read(foreign, file: "f", requireChecksum: false).floats("w"), [1])
        // Dtypes the reader does not know, and a JSON header that is not an object.
        let f16 = Array(#"{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#.utf8)
        try assertRefused(Data([UInt8(f16.count), 0, 0, 0, 0, 0, 0, 0] + f16 + [0, 0, 0, 60]), into: model, "dtype F16", "F16")
        try assertRefused(Data([2, 0, 0, 0, 0, 0, 0, 0] + Array("[]".utf8)), into: model, "not a JSON object", "array header")
        // Overlapping tensors, and a shape too large for any file.
        let overlap = Array(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#.utf8)
        try assertRefused(Data([UInt8(overlap.count), 0, 0, 0, 0, 0, 0, 0] + overlap + [0, 0, 0, 0]), into: model, "overlapping", "overlap")
        let huge = Array(#"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}"#.utf8)
        try assertRefused(Data([UInt8(huge.count), 0, 0, 0, 0, 0, 0, 0] + huge + [0, 0, 0, 0]), into: model, "does not fit", "huge shape")
        // A shape that fits its offsets but ends where no file can: refused, not an overflow trap.
        let far = Array(#"{"a":{"dtype":"F32","shape":[2305843009213693950],"data_offsets":[0,9223372036854775800]}}"#.utf8)
        try assertRefused(Data([UInt8(far.count), 0, 0, 0, 0, 0, 0, 0] + far + [0, 0, 0, 0]), into: model, "truncated", "offsets past any file")
    }

    func testWrongShapesNameTheTensorAndBothShapes() throws {
        let base = CheckpointFormatTests.smallConfig()
        let model = try MMoEModel(base, seed: 2)
        var wider = base
        wider.expertDNN = [6, 5]
        try assertRefused(try savedFile(wider), into: model,
                          "tensor experts.0.layers.1.weight has shape [6, 5] in the checkpoint but [6, 4] in this model", "expert width")
        var moreExperts = base
        moreExperts.numExperts = 4
        // The gates' output layer names the shape change before the extra expert is reached.
        try assertRefused(try savedFile(moreExperts), into: model,
                          "tensor gates.0.out.weight has shape [5, 4] in the checkpoint but [5, 3] in this model", "experts")
        var moreTasks = base
        moreTasks.numTasks = 3
        try assertRefused(try savedFile(moreTasks), into: model, "tensor gates.2.layers.0.weight is in the checkpoint but not in this model", "extra task")
        let fewer = try MMoEModel(moreTasks, seed: 3)
        try assertRefused(try savedFile(base), into: fewer, "tensor gates.2.layers.0.weight is missing", "missing task")
        var renamed = base
        renamed.fieldNames = ["age", "sex", "town"]
        try assertRefused(try savedFile(renamed), into: model, "tensor embedding.city is missing; the checkpoint's fields are [\"age\", \"sex\", \"town\"]", "field names")
        var moreRows = base
        moreRows.fieldRows = [4, 2, 6]
        try assertRefused(try savedFile(moreRows), into: model,
                          "tensor embedding.city has shape [6, 3] in the checkpoint but [5, 3] in this model", "rows")
    }

    /// A save interrupted at any point leaves the previous checkpoint readable: leftovers of
    /// temporary files are ignored by `latest()` and `load`, and cleaned up by the next save.
    func testCrashDuringSaveLeavesThePreviousCheckpoint() throws {
        let root = try temporaryDirectory()
        let directory = CheckpointDirectory(path: root, keep: 2)
        let model = try MMoEModel(CheckpointFormatTests.smallConfig(), seed: 1)
        let optimizer = makeOptimizer(.adagrad, for: model, learningRate: 0.1)
        _ = try directory.save(model, optimizer: optimizer, kind: .adagrad, step: 10, metadata: [:])
        let saved = snapshot(model)
        let good = try Data(contentsOf: URL(fileURLWithPath: root + "/model.ckpt-10/" + ModelCheckpoint.fileName))

        // Step 20's save died after its optimizer file, while writing the model's temporary file;
        // and a rewrite of step 10's model died half-way through its temporary file.
        let dying = root + "/model.ckpt-20"
        try FileManager.default.createDirectory(atPath: dying, withIntermediateDirectories: true)
        try good.prefix(good.count / 2).write(to: URL(fileURLWithPath: dying + "/" + AtomicFile.temporaryName(OptimizerCheckpoint.fileName)))
        try good.prefix(100).write(to: URL(fileURLWithPath: dying + "/" + AtomicFile.temporaryName(ModelCheckpoint.fileName)))
        try good.prefix(good.count / 3).write(to: URL(fileURLWithPath: root + "/model.ckpt-10/" + AtomicFile.temporaryName(ModelCheckpoint.fileName)))

        XCTAssertEqual(directory.latest()?.step, 10)
        let other = try MMoEModel(CheckpointFormatTests.smallConfig(), seed: 5)
        try ModelCheckpoint.load(into: other, from: directory.latest()!.path)
        try OptimizerCheckpoint.load(into: makeOptimizer(.adagrad, for: other, learningRate: 0.1), kind: .adagrad, from: directory.latest()!.path)
        XCTAssertEqual(snapshot(other), saved)

        // The next save completes, replaces the leftover temporary file, and removes the dead step 20.
        _ = try directory.save(model, optimizer: optimizer, kind: .adagrad, step: 30, metadata: [:])
        XCTAssertEqual(directory.all().map(\.step), [10, 30])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dying))
        try ModelCheckpoint.save(model, to: root + "/model.ckpt-10")
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/model.ckpt-10/" + AtomicFile.temporaryName(ModelCheckpoint.fileName)))
    }

    func testKeepCheckpointMaxKeepsTheNewestAndLeavesOtherFilesAlone() throws {
        let root = try temporaryDirectory()
        try Data("mine".utf8).write(to: URL(fileURLWithPath: root + "/notes.txt"))
        try FileManager.default.createDirectory(atPath: root + "/model.ckpt-best", withIntermediateDirectories: true)
        let model = try MMoEModel(CheckpointFormatTests.smallConfig(), seed: 1)
        let optimizer = makeOptimizer(.adam, for: model, learningRate: 0.1)
        for keep in [1, 3] {
            let directory = CheckpointDirectory(path: root + "/keep\(keep)", keep: keep)
            for step in [5, 10, 15, 20, 25] {
                _ = try directory.save(model, optimizer: optimizer, kind: .adam, step: step, metadata: ["k": "\(step)"])
                XCTAssertEqual(directory.all().count, min(keep, step / 5))
            }
            XCTAssertEqual(directory.all().map(\.step), Array([5, 10, 15, 20, 25].suffix(keep)))
            XCTAssertEqual(directory.latest()?.step, 25)
            XCTAssertEqual(try ModelCheckpoint.load(into: model, from: directory.latest()!.path)["step"], "25")
        }
        let pruned = CheckpointDirectory(path: root, keep: 1)
        _ = try pruned.save(model, optimizer: optimizer, kind: .adam, step: 1, metadata: [:])
        _ = try pruned.save(model, optimizer: optimizer, kind: .adam, step: 2, metadata: [:])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root).sorted(),
                       ["keep1", "keep3", "model.ckpt-2", "model.ckpt-best", "notes.txt"])
    }
}
