import XCTest
import Foundation
import Datasets
import Tensor
@testable import MMoE

/// `mmoe-export`: the ONNX file decoded back with `ProtobufReader` (structure, shapes, weights),
/// `--emit_inputs`, the refusals, and (when Python has onnxruntime) `Scripts/check_onnx.py` on every
/// model kind.
final class ONNXExportTests: XCTestCase {
    /// What the tests read back out of a `ModelProto`.
    struct Decoded {
        var irVersion: UInt64 = 0
        var opsets: [String: UInt64] = [:]
        var inputs: [(name: String, elemType: UInt64, dims: [String])] = []
        var outputs: [(name: String, elemType: UInt64, dims: [String])] = []
        var initializers: [String: (dims: [Int], type: UInt64, raw: [UInt8])] = [:]
        var opTypes: [String] = []
        var nodeOutputs: Set<String> = []
    }

    static func decode(_ bytes: [UInt8]) throws -> Decoded {
        var d = Decoded()
        func valueInfo(_ b: [UInt8]) throws -> (String, UInt64, [String]) {
            var name = "", elem: UInt64 = 0, dims: [String] = []
            for f in try ProtobufReader.fields(b) {
                if f.number == 1 { name = f.value.string! }
                if f.number == 2 {
                    let tensorType = try ProtobufReader.fields(f.value.data!).first { $0.number == 1 }!
                    for t in try ProtobufReader.fields(tensorType.value.data!) {
                        if t.number == 1 { elem = t.value.integer! }
                        if t.number == 2 {
                            for dim in try ProtobufReader.fields(t.value.data!) where dim.number == 1 {
                                let v = try ProtobufReader.fields(dim.value.data!)[0]
                                dims.append(v.number == 1 ? "\(v.value.integer!)" : v.value.string!)
                            }
                        }
                    }
                }
            }
            return (name, elem, dims)
        }
        for f in try ProtobufReader.fields(bytes) {
            switch f.number {
            case 1: d.irVersion = f.value.integer!
            case 8:
                let op = try ProtobufReader.fields(f.value.data!)
                d.opsets[op.first { $0.number == 1 }?.value.string ?? ""] = op.first { $0.number == 2 }?.value.integer
            case 7:
                for g in try ProtobufReader.fields(f.value.data!) {
                    switch g.number {
                    case 1:
                        let node = try ProtobufReader.fields(g.value.data!)
                        d.opTypes.append(node.first { $0.number == 4 }!.value.string!)
                        for o in node where o.number == 2 { d.nodeOutputs.insert(o.value.string!) }
                    case 5:
                        var name = "", dims: [Int] = [], type: UInt64 = 0, raw: [UInt8] = []
                        for t in try ProtobufReader.fields(g.value.data!) {
                            switch t.number {
                            case 1: dims.append(Int(Int64(bitPattern: t.value.integer!)))
                            case 2: type = t.value.integer!
                            case 8: name = t.value.string!
                            case 9: raw = t.value.data!
                            default: break
                            }
                        }
                        d.initializers[name] = (dims, type, raw)
                    case 11: d.inputs.append(try valueInfo(g.value.data!))
                    case 12: d.outputs.append(try valueInfo(g.value.data!))
                    default: break
                    }
                }
            default: break
            }
        }
        return d
    }

    /// Flags that size a tiny network of `kind`.
    static func kindFlags(_ kind: ModelKind) -> [String] {
        let base = ["--model", kind.rawValue, "--tower_dnn", "4"]
        switch kind {
        case .mmoe: return base + ["--expert_dnn", "6,5", "--gate_dnn", "3", "--num_experts", "3", "--expert_relu_on_last"]
        case .omoe: return base + ["--expert_dnn", "6"]
        case .sharedBottom: return base + ["--bottom_dnn", "7,5"]
        case .singleTask: return base + ["--expert_dnn", "6", "--expert_relu_on_last"]
        case .simpleMultitask: return base
        case .ple: return base + ["--expert_dnn", "6", "--task_experts", "2", "--shared_experts", "1", "--ple_levels", "2", "--gate_dnn", "3"]
        }
    }

    /// Trains a few steps of `kind` on `data` (a Census or Taobao directory, or nil: synthetic data)
    /// and returns the saved model's directory.
    func train(_ kind: ModelKind, data: String?, extra: [String] = []) throws -> String {
        let root = try PredictFixture.temporaryDirectory(self)
        let dataFlags = data.map { ["--data_dir", $0, "--embedding_vec_size", "3", "--batch_size", "20", "--train_batches", "6"] }
            ?? ["--num_train_samples", "128", "--num_test_samples", "32", "--synthetic_dim", "5", "--batch_size", "32", "--train_batches", "4"]
        let arguments = dataFlags + ["--loss_print_interval", "100", "--threads", "1", "--output_dir", root + "/out",
                                     "--model_save_dir", root + "/models"] + Self.kindFlags(kind) + extra
        _ = try TrainCommand(options: try TrainOptions.parse(arguments), print: { _ in }, printError: { _ in }).run()
        return root + "/models/final_checkpoint"
    }

    func export(_ arguments: [String]) throws -> (summary: ExportCommand.Summary, err: [String]) {
        var err: [String] = []
        let summary = try ExportCommand(options: try ExportOptions.parse(arguments), printError: { err.append($0) }).run()
        return (summary, err)
    }

    /// The graph of a Census MMoE: its inputs, outputs, opset, every parameter as an initializer
    /// holding the model's values, the experts as one stacked weight.
    func testCensusGraphStructureAndWeights() throws {
        let data = try PredictFixture.censusDirectory(self)
        let checkpoint = try train(.mmoe, data: data)
        let out = try PredictFixture.temporaryDirectory(self) + "/model.onnx"
        _ = try export(["--model_dir", checkpoint, "--out", out, "--with_gates"])
        let d = try Self.decode(Array(try Data(contentsOf: URL(fileURLWithPath: out))))
        let (model, manifest) = try CheckpointManifest.loadModel(from: checkpoint)
        let c = model.config

        XCTAssertEqual(d.irVersion, 8)
        XCTAssertEqual(d.opsets[""], 17)
        XCTAssertEqual(d.inputs.map(\.name), ["sparse_ids", "dense"])
        XCTAssertEqual(d.inputs[0].elemType, 7)
        XCTAssertEqual(d.inputs[0].dims, ["batch", "\(c.fieldCount)"])
        XCTAssertEqual(d.inputs[1].elemType, 1)
        XCTAssertEqual(d.inputs[1].dims, ["batch", "\(c.denseWidth)"])
        XCTAssertEqual(d.outputs.map(\.name), manifest.taskNames + manifest.taskNames.map { "\($0)_gate" })
        XCTAssertEqual(d.outputs[0].dims, ["batch"])
        XCTAssertEqual(d.outputs.last!.dims, ["batch", "3"])
        for o in d.outputs { XCTAssertTrue(d.nodeOutputs.contains(o.name), o.name) }

        // Every parameter, stacked as in the model (biases [S, 1, out]), with the model's bytes.
        for p in model.parameters.parameters {
            let i = try XCTUnwrap(d.initializers[p.name], p.name)
            XCTAssertEqual(i.dims, p.name.hasSuffix(".bias") ? [p.shape[0], 1, p.shape[1]] : p.shape, p.name)
            XCTAssertEqual(i.type, 1)
            XCTAssertEqual(try ProtobufReader.packedFloats(i.raw), p.value.scalars, p.name)
        }
        XCTAssertEqual(d.initializers["experts.layers.0.weight"]?.dims, [3, c.inputWidth, 6])
        let table = try XCTUnwrap(d.initializers["embedding"])
        XCTAssertEqual(table.dims, [c.fieldRows.reduce(0, +), 3])
        XCTAssertEqual(try ProtobufReader.packedFloats(table.raw), model.embedding!.value.scalars)
        // Experts are one batched MatMul per layer (2 layers), not one per expert.
        let expertMatMuls = 2, gateMatMuls = 2, mixture = 1, towers = 2
        XCTAssertEqual(d.opTypes.filter { $0 == "MatMul" }.count, expertMatMuls + gateMatMuls + mixture + towers)
        XCTAssertEqual(d.opTypes.filter { $0 == "Sigmoid" }.count, 2)
    }

    /// `--external_data`: every initializer of 1 KiB or more is stored in `<out>.data` at a
    /// 4096-aligned offset (data_location EXTERNAL, location/offset/length entries) holding the
    /// model's bytes; smaller ones stay inside the graph; the data file is all the model's weights.
    func testExternalDataHoldsTheWeights() throws {
        let data = try PredictFixture.censusDirectory(self)
        let checkpoint = try train(.mmoe, data: data)
        let dir = try PredictFixture.temporaryDirectory(self)
        let (_, err) = try export(["--model_dir", checkpoint, "--out", dir + "/m.onnx", "--external_data"])
        XCTAssertTrue(err.joined().contains("weights in m.onnx.data"), "\(err)")
        let blob = try Data(contentsOf: URL(fileURLWithPath: dir + "/m.onnx.data"))
        let (model, _) = try CheckpointManifest.loadModel(from: checkpoint)
        let fields = try ProtobufReader.fields(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/m.onnx"))))
        let graph = try ProtobufReader.fields(try XCTUnwrap(fields.first { $0.number == 7 }?.value.data))
        var external = 0, inside = 0
        for initializer in graph.filter({ $0.number == 5 }) {
            let t = try ProtobufReader.fields(try XCTUnwrap(initializer.value.data))
            let name = try XCTUnwrap(t.first { $0.number == 8 }?.value.string)
            var entries: [String: String] = [:]
            for e in t where e.number == 13 {
                let kv = try ProtobufReader.fields(try XCTUnwrap(e.value.data))
                entries[kv[0].value.string!] = kv[1].value.string!
            }
            let raw = t.first { $0.number == 9 }?.value.data
            if let location = entries["location"] {
                external += 1
                XCTAssertEqual(location, "m.onnx.data")
                XCTAssertEqual(t.first { $0.number == 14 }?.value.integer, 1, name)
                XCTAssertNil(raw, name)
                let offset = try XCTUnwrap(Int(entries["offset"] ?? "")), length = try XCTUnwrap(Int(entries["length"] ?? ""))
                XCTAssertEqual(offset % 4096, 0, name)
                XCTAssertGreaterThanOrEqual(length, 1024, name)
                XCTAssertLessThanOrEqual(offset + length, blob.count, name)
                let stored = try ProtobufReader.packedFloats(Array(blob[offset ..< offset + length]))
                if let p = model.parameters[name] { XCTAssertEqual(stored, p.value.scalars, name) }
                if name == "embedding" { XCTAssertEqual(stored, model.embedding!.value.scalars) }
            } else {
                inside += 1
                XCTAssertLessThan(try XCTUnwrap(raw, name).count, 1024, name)
            }
        }
        XCTAssertGreaterThan(external, 0)
        XCTAssertGreaterThan(inside, 0)
    }

    /// Taobao: the bag fields come in as tag_ids [batch, 2, L], the rest as sparse_ids; no dense.
    func testTaobaoGraphInputs() throws {
        let data = try PredictFixture.taobaoDirectory(self)
        let checkpoint = try train(.omoe, data: data)
        let out = try PredictFixture.temporaryDirectory(self) + "/model.onnx"
        let r = try export(["--model_dir", checkpoint, "--out", out])
        XCTAssertEqual(r.summary.inputs, ["sparse_ids", "tag_ids"])
        let d = try Self.decode(Array(try Data(contentsOf: URL(fileURLWithPath: out))))
        XCTAssertEqual(d.inputs.map(\.dims), [["batch", "15"], ["batch", "2", "tag_length"]])
        XCTAssertEqual(d.outputs.map(\.name), Taobao.taskNames)
        XCTAssertTrue(d.opTypes.contains("ReduceSum") && d.opTypes.contains("Less"))
        // Taobao models have a bias in their gate (DeepRec's dense gate), stored [1, 1, E].
        let experts = try CheckpointManifest.read(from: checkpoint).config.numExperts
        XCTAssertEqual(d.initializers["gates.out.bias"]?.dims, [1, 1, experts])
    }

    /// Every kind exports, and with --with_gates only kinds that have gates.
    func testEveryKindExportsOnSyntheticData() throws {
        for kind in ModelKind.allCases {
            let checkpoint = try train(kind, data: nil, extra: kind == .ple ? [] : ["--task_types", "binary,regression"])
            let out = try PredictFixture.temporaryDirectory(self) + "/m.onnx"
            let r = try export(["--model_dir", checkpoint, "--out", out])
            XCTAssertEqual(r.summary.inputs, ["dense"], kind.rawValue)
            let d = try Self.decode(Array(try Data(contentsOf: URL(fileURLWithPath: out))))
            let (model, _) = try CheckpointManifest.loadModel(from: checkpoint)
            XCTAssertEqual(Set(d.initializers.keys.filter { !$0.hasPrefix("/") }), Set(model.parameters.parameters.map(\.name)), kind.rawValue)
            XCTAssertEqual(d.opTypes.filter { $0 == "Sigmoid" }.count, kind == .ple ? 2 : 1, kind.rawValue)
            if !kind.hasGates {
                let message = PredictFixture.error { _ = try self.export(["--model_dir", checkpoint, "--out", out + ".g", "--with_gates"]) }
                XCTAssertTrue(message.contains("has no gates"), message)
                XCTAssertFalse(FileManager.default.fileExists(atPath: out + ".g"))
            }
        }
    }

    /// A `--ev` model exports its held rows with the keys: the inputs are `sparse_keys`/`tag_keys`,
    /// mapped by `ai.onnx.ml` `LabelEncoder`; a fixed store's model exports as the in-model table;
    /// adaptive and multihash stores are refused.
    func testEmbeddingStoreModels() throws {
        let data = try PredictFixture.taobaoDirectory(self)
        let out = try PredictFixture.temporaryDirectory(self) + "/m.onnx"
        let ev = try train(.mmoe, data: data, extra: ["--ev", "True"])
        XCTAssertEqual(try export(["--model_dir", ev, "--out", out]).summary.inputs, ["sparse_keys", "tag_keys"])
        var d = try Self.decode(Array(try Data(contentsOf: URL(fileURLWithPath: out))))
        XCTAssertEqual(d.opsets, ["": 17, "ai.onnx.ml": 3])
        XCTAssertEqual(d.opTypes.filter { $0 == "LabelEncoder" }.count, 2)
        let (_, _, store) = try CheckpointManifest.loadModelAndStore(from: ev)
        let held = try XCTUnwrap(store).storage.count
        XCTAssertGreaterThan(held, 0)
        XCTAssertEqual(d.initializers["embedding"]?.dims, [held + 1, 3])
        XCTAssertEqual(try ProtobufReader.packedFloats(d.initializers["embedding"]!.raw).suffix(3), [0, 0, 0])

        let fixed = try train(.mmoe, data: data, extra: ["--store_type", "cached_host_mem"])
        XCTAssertEqual(try export(["--model_dir", fixed, "--out", out]).summary.inputs, ["sparse_ids", "tag_ids"])
        d = try Self.decode(Array(try Data(contentsOf: URL(fileURLWithPath: out))))
        XCTAssertEqual(d.initializers["embedding"]?.dims, [Taobao.bucketSizes.reduce(0, +), 3])
        XCTAssertFalse(d.opTypes.contains("LabelEncoder"))

        for flag in ["--multihash", "--adaptive_emb"] {
            let checkpoint = try train(.mmoe, data: data, extra: [flag, "True"])
            let message = PredictFixture.error { _ = try self.export(["--model_dir", checkpoint, "--out", out + ".x"]) }
            XCTAssertTrue(message.contains("is not supported yet"), message)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out + ".x"))
        }
    }

    /// mmoe-predict on a Census `--ev` model: the streamed rows keep their raw keys, which the
    /// store looks rows up by (it failed with "this data was read without them" before), and
    /// `--emit_inputs` writes those keys, the ones the file's values hash to.
    func testPredictAndEmitInputsOfACensusEVModel() throws {
        let data = try PredictFixture.censusDirectory(self, testRows: 40)
        let checkpoint = try train(.mmoe, data: data, extra: ["--ev", "True"])
        let dir = try PredictFixture.temporaryDirectory(self) + "/inputs"
        let r = try PredictFixture.predict(["--model_load_dir", checkpoint, "--input", data + "/census-income.test", "--emit_inputs", dir])
        XCTAssertEqual(r.summary.rows, 40)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir)), ["sparse_keys.npy", "dense.npy"])
        let file = try Data(contentsOf: URL(fileURLWithPath: dir + "/sparse_keys.npy"))
        let length = Int(file[8]) | Int(file[9]) << 8
        let keys = Kernels.array(of: Int64.self, from: file, (10 + length)..<file.count)
        let manifest = try CheckpointManifest.read(from: checkpoint)
        guard case .census(let encoder) = manifest.encoding else { return XCTFail("not a Census manifest") }
        let encoded = try encoder.encode(path: data + "/census-income.test", keepKeys: true)
        XCTAssertEqual(keys, encoded.keys!.map { Int64(bitPattern: $0) })
        let education = manifest.config.fieldNames.firstIndex(of: "education")!
        let text = try String(contentsOfFile: data + "/census-income.test", encoding: .utf8).components(separatedBy: ", ")[4]
        XCTAssertEqual(UInt64(bitPattern: keys[education]), FieldHash.key(field: education, value: text))
    }

    /// `.npy` bytes: magic, version, a header padded to a 64-byte boundary, then the elements.
    func testNumpyFileLayout() throws {
        let data = NumpyFile.encode([1, -1, 300] as [Int64], shape: [3, 1])
        let bytes = [UInt8](data)
        XCTAssertEqual(Array(bytes[0..<8]), [0x93] + Array("NUMPY".utf8) + [1, 0])
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        XCTAssertEqual((10 + headerLength) % 64, 0)
        let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{'descr': '<i8', 'fortran_order': False, 'shape': (3, 1), }"), header)
        XCTAssertTrue(header.hasSuffix("\n"))
        XCTAssertEqual(Kernels.array(of: Int64.self, from: data, (10 + headerLength)..<data.count), [1, -1, 300])
        let one = [UInt8](NumpyFile.encode([0.5] as [Float], shape: [1]))
        XCTAssertTrue(String(decoding: one[10..<74], as: UTF8.self).contains("'<f4'") && String(decoding: one[10..<74], as: UTF8.self).contains("(1,)"))
    }

    /// `mmoe-predict --emit_inputs` on Taobao rows: the one-id fields and the padded bags are the
    /// rows the reader encoded, in the layout's order.
    func testEmitInputsMatchesTheEncodedRows() throws {
        let data = try PredictFixture.taobaoDirectory(self, testRows: 25)
        let checkpoint = try train(.mmoe, data: data)
        let dir = try PredictFixture.temporaryDirectory(self) + "/inputs"
        let input = data + "/" + Taobao.testFileName
        _ = try PredictFixture.predict(["--model_load_dir", checkpoint, "--input", input, "--emit_inputs", dir])
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir)), ["sparse_ids.npy", "tag_ids.npy"])
        var rows: TabularData?
        try Taobao.read(.file(input), chunkRows: 1000, options: TaobaoOptions()) { rows = $0; return false }
        let encoded = try XCTUnwrap(rows)
        func payload(_ name: String) throws -> (header: String, values: [Int64]) {
            let file = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))
            let length = Int(file[8]) | Int(file[9]) << 8
            return (String(decoding: file[10..<(10 + length)], as: UTF8.self), Kernels.array(of: Int64.self, from: file, (10 + length)..<file.count))
        }
        let sparse = try payload("sparse_ids.npy"), tags = try payload("tag_ids.npy")
        XCTAssertTrue(sparse.header.contains("'shape': (25, 15)"), sparse.header)
        let layout = ServingLayout(try CheckpointManifest.read(from: checkpoint))
        let width = (0..<25).flatMap { r in layout.bagFields.map { encoded.ids(row: r, field: $0).count } }.max()!
        XCTAssertTrue(tags.header.contains("'shape': (25, 2, \(max(width, 1)))"), tags.header)
        for r in 0..<25 {
            XCTAssertEqual(Array(sparse.values[(r * 15)..<((r + 1) * 15)]), layout.singleFields.map { Int64(encoded.ids(row: r, field: $0).first!) })
            for (j, f) in layout.bagFields.enumerated() {
                let bag = encoded.ids(row: r, field: f).map(Int64.init)
                let start = (r * 2 + j) * max(width, 1)
                XCTAssertEqual(Array(tags.values[start..<(start + max(width, 1))]), bag + Array(repeating: -1, count: max(width, 1) - bag.count))
            }
        }
    }

    /// Bad model directories and output paths: one message, nothing left under --out.
    func testRefusalsLeaveNoFile() throws {
        let tmp = try PredictFixture.temporaryDirectory(self)
        let out = tmp + "/model.onnx"
        XCTAssertEqual(PredictFixture.error { _ = try self.export(["--model_dir", tmp + "/none", "--out", out]) },
                       "--model_dir \(tmp)/none: no such directory")
        XCTAssertTrue(PredictFixture.error { _ = try self.export(["--model_dir", tmp, "--out", out]) }.contains("no model.safetensors there"))
        XCTAssertTrue(PredictFixture.error { _ = try self.export(["--out", out]) }.contains("--model_dir is required"))

        let data = try PredictFixture.censusDirectory(self)
        let checkpoint = try train(.mmoe, data: data)
        XCTAssertEqual(PredictFixture.error { _ = try self.export(["--model_dir", checkpoint, "--out", tmp + "/missing/m.onnx"]) },
                       "--out \(tmp)/missing/m.onnx: no such directory \(tmp)/missing")
        XCTAssertEqual(PredictFixture.error { _ = try self.export(["--model_dir", checkpoint, "--out", tmp]) }, "--out \(tmp): is a directory")

        // A truncated model file, and a manifest naming an unknown kind.
        let broken = tmp + "/broken"
        try FileManager.default.createDirectory(atPath: broken, withIntermediateDirectories: true)
        let file = try Data(contentsOf: URL(fileURLWithPath: checkpoint + "/model.safetensors"))
        try file.prefix(file.count - 100).write(to: URL(fileURLWithPath: broken + "/model.safetensors"))
        let truncated = PredictFixture.error { _ = try self.export(["--model_dir", broken, "--out", out]) }
        XCTAssertTrue(truncated.hasPrefix("--model_dir \(broken): "), truncated)
        let sf = try SafeTensors.read(path: checkpoint + "/model.safetensors")
        var metadata = sf.metadata
        metadata["checksum"] = nil
        metadata["manifest.config"] = metadata["manifest.config"]!.replacingOccurrences(of: "\"kind\":\"mmoe\"", with: "\"kind\":\"xmoe\"")
        XCTAssertNotEqual(metadata, sf.metadata)
        let (model, _) = try CheckpointManifest.loadModel(from: checkpoint)
        try SafeTensors.encode(ModelCheckpoint.fileTensors(model).map { SafeTensors.Entry.f32($0.name, $0.tensor) }, metadata: metadata)
            .write(to: URL(fileURLWithPath: broken + "/model.safetensors"))
        let unknown = PredictFixture.error { _ = try self.export(["--model_dir", broken, "--out", out]) }
        XCTAssertTrue(unknown.contains("manifest.config") && unknown.contains("xmoe"), unknown)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp).sorted(), ["broken"])
    }

    /// `Scripts/check_onnx.py`: onnx.checker, then onnxruntime against the Swift model on sample
    /// rows and against mmoe-predict on real rows, within 1e-5, for every kind on Census and Taobao
    /// and on synthetic data (binary and regression tasks). Skipped without onnxruntime or the binaries.
    func testOnnxRuntimeAgreesForEveryKind() throws {
        guard PythonScripts.canImport("onnx, onnxruntime, numpy") else {
            throw XCTSkip("python3 with onnx, onnxruntime and numpy not found (pip install onnx onnxruntime numpy)")
        }
        let bundle = Bundle(for: Self.self).bundleURL
        guard let bin = [bundle, bundle.deletingLastPathComponent()].first(where: {
            FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("mmoe-export").path)
                && FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("mmoe-predict").path)
        }) else { throw XCTSkip("no mmoe-export and mmoe-predict binaries next to the tests in \(bundle.path)") }
        let script = PythonScripts.path("check_onnx.py")

        let census = try PredictFixture.censusDirectory(self), taobao = try PredictFixture.taobaoDirectory(self)
        var cases: [(String, String, String?)] = []
        var exportFlags: [String: [String]] = [:]
        for kind in ModelKind.allCases {
            cases.append(("census \(kind.rawValue)", try train(kind, data: census), census + "/census-income.test"))
            cases.append(("taobao \(kind.rawValue)", try train(kind, data: taobao), taobao + "/" + Taobao.testFileName))
            cases.append(("synthetic \(kind.rawValue)", try train(kind, data: nil, extra: ["--task_types", "regression,binary"]), nil))
        }
        for (name, flags) in [("--ev", ["--ev", "True"]), ("--store_type", ["--store_type", "cached_host_mem"])] {
            cases.append(("census mmoe \(name)", try train(.mmoe, data: census, extra: flags), census + "/census-income.test"))
            cases.append(("taobao ple \(name)", try train(.ple, data: taobao, extra: flags), taobao + "/" + Taobao.testFileName))
        }
        cases.append(("census mmoe, external data", try train(.mmoe, data: census), census + "/census-income.test"))
        exportFlags["census mmoe, external data"] = ["--external_data"]
        for (name, checkpoint, input) in cases {
            let (status, text) = try PythonScripts.run([script, "--model_dir", checkpoint, "--bin", bin.path,
                                                         "--work", try PredictFixture.temporaryDirectory(self), "--sample_rows", "300"]
                                                        + (input.map { ["--input", $0] } ?? []) + (exportFlags[name] ?? []))
            XCTAssertEqual(status, 0, "\(name):\n\(text)")
            XCTAssertTrue(text.contains("check_onnx: all outputs agree"), "\(name):\n\(text)")
            if input != nil { XCTAssertTrue(text.contains("mmoe-predict: "), "\(name):\n\(text)") }
        }
    }
}
