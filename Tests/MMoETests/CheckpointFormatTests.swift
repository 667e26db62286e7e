import XCTest
import Foundation
import Tensor
@testable import MMoE

/// What a checkpoint file holds: every tensor under its documented name and layout, readable by a
/// reader that shares no code with the writer, with a checksum that reader can verify.
final class CheckpointFormatTests: XCTestCase {
    func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmoe-ckpt-format-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    /// Every kind of layer: experts of two layers, gate and tower hidden layers, gate bias, three
    /// named fields and dense features.
    static func smallConfig() -> MMoEConfig {
        var c = MMoEConfig(denseWidth: 3, fieldRows: [4, 2, 5], embeddingDim: 3, numExperts: 3, numTasks: 2,
                           expertDNN: [6, 4], gateDNN: [5], towerDNN: [3], fieldNames: ["age", "sex", "city"])
        c.gateBias = true
        return c
    }

    /// The file's names and shapes for `smallConfig()`, written out by hand from the README.
    static func expectedShapes() -> [String: [Int]] {
        var s: [String: [Int]] = [:]
        let d = 3 * 3 + 3
        for e in 0..<3 {
            s["experts.\(e).layers.0.weight"] = [d, 6]; s["experts.\(e).layers.0.bias"] = [6]
            s["experts.\(e).layers.1.weight"] = [6, 4]; s["experts.\(e).layers.1.bias"] = [4]
        }
        for t in 0..<2 {
            s["gates.\(t).layers.0.weight"] = [d, 5]; s["gates.\(t).layers.0.bias"] = [5]
            s["gates.\(t).out.weight"] = [5, 3]; s["gates.\(t).out.bias"] = [3]
            s["towers.\(t).layers.0.weight"] = [4, 3]; s["towers.\(t).layers.0.bias"] = [3]
            s["towers.\(t).out.weight"] = [3, 1]; s["towers.\(t).out.bias"] = [1]
        }
        s["embedding.age"] = [4, 3]; s["embedding.sex"] = [2, 3]; s["embedding.city"] = [5, 3]
        return s
    }

    /// Gives every bias a non-zero value, so a bias written in the wrong place cannot hide.
    static func perturbBiases(_ model: MMoEModel, seed: UInt64) {
        var rng = SeededRNG(seed: seed)
        for p in model.parameters.parameters where p.name.hasSuffix(".bias") {
            p.value.assign(Tensor(shape: p.shape, scalars: (0..<p.value.count).map { _ in rng.nextNormal() }))
        }
    }

    func testCRC32MatchesTheStandardCheckValue() {
        let check = Data("123456789".utf8)
        XCTAssertEqual(Kernels.crc32(check), 0xCBF4_3926)
        XCTAssertEqual(IndependentSafeTensorsReader.crc32(Array(check)), 0xCBF4_3926)
        XCTAssertEqual(Kernels.crc32(Data()), 0)
        // Every length and alignment of the 8-byte loop against the bitwise reference, and chaining.
        var rng = SeededRNG(seed: 3)
        let bytes = (0..<100).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let data = Data(bytes)
        for lo in 0..<9 {
            for hi in stride(from: lo, through: 100, by: 7) {
                XCTAssertEqual(Kernels.crc32(data, lo..<hi), IndependentSafeTensorsReader.crc32(Array(bytes[lo..<hi])), "\(lo)..<\(hi)")
            }
        }
        XCTAssertEqual(Kernels.crc32(data, 37..<100, continuing: Kernels.crc32(data, 0..<37)), Kernels.crc32(data))
    }

    func testEveryTensorIsWrittenUnstackedUnderItsNameAndReadsBackWithAnIndependentReader() throws {
        let dir = try temporaryDirectory()
        let model = try MMoEModel(Self.smallConfig(), seed: 1)
        Self.perturbBiases(model, seed: 2)
        try ModelCheckpoint.save(model, to: dir, metadata: ["dataset": "test", "note": "quote \" backslash \\ newline \n tab \t é"])
        let path = dir + "/" + ModelCheckpoint.fileName
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/." + ModelCheckpoint.fileName + ".partial"))

        let file = try IndependentSafeTensorsReader(path: path)
        XCTAssertEqual(file.headerLength % 8, 0)
        XCTAssertEqual(file.statedChecksum, file.computedChecksum)
        XCTAssertEqual(file.metadata["dataset"], "test")
        XCTAssertEqual(file.metadata["note"], "quote \" backslash \\ newline \n tab \t é")
        XCTAssertEqual(file.metadata["format"], ModelCheckpoint.format)
        XCTAssertEqual(file.metadata["checksum"], String(format: "crc32:%08x", file.statedChecksum))
        let expected = Self.expectedShapes()
        XCTAssertEqual(Set(file.tensors.keys), Set(expected.keys))
        for (name, shape) in expected {
            XCTAssertEqual(file.tensors[name]?.shape, shape, name)
            XCTAssertEqual(file.tensors[name]?.dtype, "F32", name)
        }
        // Values: stacked parameter P.layers.L.weight [S, in, out] is S tensors P.s.layers.L.weight [in, out].
        for p in model.parameters.parameters {
            let prefix = String(p.name.prefix { $0 != "." }), rest = p.name.dropFirst(prefix.count)
            for s in 0..<p.shape[0] {
                let values = file.tensors["\(prefix).\(s)\(rest)"]!.floats
                var k = 0
                if p.shape.count == 3 {
                    for i in 0..<p.shape[1] { for j in 0..<p.shape[2] { XCTAssertEqual(values[k], p.value[s, i, j]); k += 1 } }
                } else {
                    for j in 0..<p.shape[1] { XCTAssertEqual(values[k], p.value[s, j]); k += 1 }
                }
            }
        }
        // The fused table [4 + 2 + 5, 3] is three tables, by field.
        let table = model.embedding!.value
        for (name, rows) in [("age", 0..<4), ("sex", 4..<6), ("city", 6..<11)] {
            let values = file.tensors["embedding.\(name)"]!.floats
            for (k, r) in rows.enumerated() { for j in 0..<3 { XCTAssertEqual(values[k * 3 + j], table[r, j], name) } }
        }

        // And back: a model of another seed takes every value, bit for bit.
        let other = try MMoEModel(Self.smallConfig(), seed: 9)
        let metadata = try ModelCheckpoint.load(into: other, from: dir)
        XCTAssertEqual(metadata["dataset"], "test")
        XCTAssertEqual(other.parameters.values.scalars.map(\.bitPattern), model.parameters.values.scalars.map(\.bitPattern))
        XCTAssertEqual(other.embedding!.value.scalars.map(\.bitPattern), table.scalars.map(\.bitPattern))
    }

    func testSimpleMultitaskAndModelsWithoutSparseFieldsRoundTrip() throws {
        for sparse in [true, false] {
            var c = MMoEConfig(denseWidth: 4, fieldRows: sparse ? [3, 3] : [], embeddingDim: 2, numTasks: 3, towerDNN: [5])
            c.kind = .simpleMultitask
            let dir = try temporaryDirectory()
            let model = try MMoEModel(c, seed: 5)
            try ModelCheckpoint.save(model, to: dir)
            let file = try IndependentSafeTensorsReader(path: dir + "/" + ModelCheckpoint.fileName)
            var names: Set<String> = []
            for t in 0..<3 { names.formUnion(["towers.\(t).layers.0.weight", "towers.\(t).layers.0.bias", "towers.\(t).out.weight", "towers.\(t).out.bias"]) }
            if sparse { names.formUnion(["embedding.field0", "embedding.field1"]) }
            XCTAssertEqual(Set(file.tensors.keys), names)
            XCTAssertEqual(file.tensors["towers.2.layers.0.weight"]?.shape, [(sparse ? 4 : 0) + 4, 5])
            let other = try MMoEModel(c, seed: 6)
            try ModelCheckpoint.load(into: other, from: dir)
            XCTAssertEqual(other.parameters.values.scalars, model.parameters.values.scalars)
            XCTAssertEqual(other.embedding?.value.scalars, model.embedding?.value.scalars)
        }
    }

    func testSixtyFourBitIntegersAndMixedDtypesRoundTrip() throws {
        let keys: [UInt64] = [0, 1, 0xDEAD_BEEF_0000_0001, .max]
        let signed: [Int64] = [.min, -1, 0, 42, .max, 7]
        let floats = Tensor(shape: [3], scalars: [1.5, -0, .infinity])
        // One float first, so the 64-bit data starts at an offset that is not a multiple of 8.
        let data = SafeTensors.encode([.f32("odd", shape: [1], [0.25]), .u64("keys", shape: [2, 2], keys),
                                       .i64("signed", shape: [6], signed), .f32("floats", floats), .u64("empty", shape: [0], [])],
                                      metadata: ["kind": "store"])
        let dir = try temporaryDirectory(), path = dir + "/mixed.safetensors"
        try data.write(to: URL(fileURLWithPath: path))
        let file = try SafeTensors.read(path: path)
        XCTAssertEqual(file.names, ["odd", "keys", "signed", "floats", "empty"])
        XCTAssertEqual(try file.uint64s("keys"), keys)
        XCTAssertEqual(try file.int64s("signed"), signed)
        XCTAssertEqual(try file.floats("odd"), [0.25])
        XCTAssertEqual(try file.tensor("floats").scalars.map(\.bitPattern), floats.scalars.map(\.bitPattern))
        XCTAssertEqual(try file.uint64s("empty"), [])
        XCTAssertEqual(file.tensors["keys"], SafeTensors.TensorInfo(dtype: .u64, shape: [2, 2], dataOffsets: 4..<36))
        XCTAssertThrowsError(try file.floats("keys")) { XCTAssertTrue("\($0)".contains("tensor keys has dtype U64, expected F32"), "\($0)") }
        XCTAssertThrowsError(try file.int64s("nothing")) { XCTAssertTrue("\($0)".hasSuffix("tensor nothing is missing"), "\($0)") }

        let independent = try IndependentSafeTensorsReader(path: path)
        XCTAssertEqual(independent.statedChecksum, independent.computedChecksum)
        XCTAssertEqual(independent.tensors["keys"]?.dtype, "U64")
        XCTAssertEqual(independent.tensors["keys"]?.uint64s, keys)
        XCTAssertEqual(independent.tensors["signed"]?.uint64s.map { Int64(bitPattern: $0) }, signed)
        // The original F32 API reads the same files.
        let legacy = try SafeTensors.decode(SafeTensors.encode([(name: "w", shape: [2], values: [1, 2])]), file: "legacy")
        XCTAssertEqual(legacy.tensors["w"]?.values, [1, 2])
    }

    func testOptimizerStateRoundTripsThroughItsFile() throws {
        let dir = try temporaryDirectory()
        let model = try MMoEModel(Self.smallConfig(), seed: 1)
        for kind in OptimizerKind.allCases {
            let optimizer = makeOptimizer(kind, for: model, learningRate: 0.01)
            var rng = SeededRNG(seed: 4)
            for (_, t) in optimizer.stateTensors() { t.assign(Tensor(shape: t.shape, scalars: (0..<t.count).map { _ in rng.nextUniform() })) }
            try OptimizerCheckpoint.save(optimizer, kind: kind, to: dir, metadata: ["extra": "kept"])
            let restored = makeOptimizer(kind, for: model, learningRate: 0.01)
            let metadata = try OptimizerCheckpoint.load(into: restored, kind: kind, from: dir)
            XCTAssertEqual(metadata["extra"], "kept")
            XCTAssertEqual(restored.step, optimizer.step)
            for (a, b) in zip(optimizer.stateTensors(), restored.stateTensors()) {
                XCTAssertEqual(a.name, b.name)
                XCTAssertEqual(a.tensor.scalars, b.tensor.scalars, "\(kind) \(a.name)")
            }
        }
    }
}
