import XCTest
import Foundation
import Tensor
import Datasets
@testable import MMoE

/// `--gate_report`: the statistics on a gate tensor written by hand, the model's gate read-out,
/// and the files and warnings of a run.
final class GateReportTests: XCTestCase {
    func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmoe-gates-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    /// Two gates over 3 experts, 4 rows: the first puts more than 0.9 on expert 0 in every row
    /// (collapsed); the second spreads out, with one peaked row on expert 2.
    static let rows: [[[Float]]] = [
        [[0.95, 0.03, 0.02], [0.92, 0.05, 0.03], [0.97, 0.02, 0.01], [0.91, 0.04, 0.05]],
        [[0.35, 0.33, 0.32], [0.20, 0.75, 0.05], [0.02, 0.03, 0.95], [0.45, 0.15, 0.40]],
    ]
    static func tensor(_ rows: [[[Float]]]) -> Tensor {
        Tensor(shape: [rows.count, rows[0].count, rows[0][0].count], scalars: rows.flatMap { $0.flatMap { $0 } })
    }

    func testStatisticsOfAHandWrittenGateTensor() {
        var stats = GateStatistics(names: ["ctr", "cvr"], experts: 3)
        stats.add(Self.tensor(Self.rows))
        let r = stats.report()
        XCTAssertEqual(r.rows, 4)
        XCTAssertEqual(r.experts, 3)
        let (a, b) = (r.gates[0], r.gates[1])
        for (got, want) in zip(a.meanWeight, [0.9375, 0.035, 0.0275]) { XCTAssertEqual(got, want, accuracy: 1e-6) }
        for (got, want) in zip(b.meanWeight, [0.255, 0.315, 0.43]) { XCTAssertEqual(got, want, accuracy: 1e-6) }
        XCTAssertEqual(a.topWeightHistogram, [0, 0, 0, 0, 0, 0, 0, 0, 0, 4])
        XCTAssertEqual(b.topWeightHistogram, [0, 0, 0, 1, 1, 0, 0, 1, 0, 1])
        XCTAssertEqual(a.peakedFraction, 1)
        XCTAssertEqual(b.peakedFraction, 0.25)
        XCTAssertEqual(a.dominantFraction, [1, 0, 0])
        XCTAssertEqual(b.dominantFraction, [0, 0, 0.25])
        XCTAssertEqual(a.collapsedOnto, 0)
        XCTAssertNil(b.collapsedOnto)
        XCTAssertEqual(r.collapsed.map(\.name), ["ctr"])
        XCTAssertEqual(r.warnings, ["warning: the gate of ctr has collapsed onto expert 0: mean weight 0.938, 100.0% of the rows put more than 0.9 on it"])
        XCTAssertTrue(r.summaryLines[1].hasPrefix("Gates cvr: mean weights [0.255 0.315 0.430], most used expert 2; 25.0% of 4 rows"), r.summaryLines[1])

        // Rows added in two batches give the same report.
        var split = GateStatistics(names: ["ctr", "cvr"], experts: 3)
        split.add(Self.tensor(Self.rows.map { Array($0[0..<1]) }))
        split.add(Self.tensor(Self.rows.map { Array($0[1...]) }))
        XCTAssertEqual(split.report().gates.map(\.topWeightHistogram), r.gates.map(\.topWeightHistogram))
        for (x, y) in zip(split.report().gates, r.gates) {
            for (u, v) in zip(x.meanWeight, y.meanWeight) { XCTAssertEqual(u, v, accuracy: 1e-12) }
        }
    }

    /// The second rule: 19 of 20 rows put 0.91 on expert 1 (95% > 90%) though its mean weight,
    /// 0.8645, is below 0.9.
    func testCollapseByTheShareOfPeakedRows() {
        var rows = Array(repeating: [Float(0.05), 0.91, 0.04], count: 19)
        rows.append([1, 0, 0])
        var stats = GateStatistics(names: ["t"], experts: 3)
        stats.add(Self.tensor([rows]))
        let gate = stats.report().gates[0]
        XCTAssertEqual(gate.meanWeight[1], 0.8645, accuracy: 1e-6)
        XCTAssertEqual(gate.dominantFraction[1], 0.95)
        XCTAssertEqual(gate.collapsedOnto, 1)

        // 18 of 20 (exactly 90%) is not more than 90%.
        rows[0] = [1, 0, 0]
        var fewer = GateStatistics(names: ["t"], experts: 3)
        fewer.add(Self.tensor([rows]))
        XCTAssertNil(fewer.report().gates[0].collapsedOnto)
    }

    func testJSONAndSVGAreWritten() throws {
        var stats = GateStatistics(names: ["ctr", "cvr"], experts: 3)
        stats.add(Self.tensor(Self.rows))
        let dir = try temporaryDirectory()
        let paths = try stats.report().write(to: dir, model: "mmoe")
        XCTAssertEqual(paths, [dir + "/gate_report.json", dir + "/gate_report.svg"])
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: paths[0]))) as! [String: Any]
        XCTAssertEqual(json["model"] as? String, "mmoe")
        XCTAssertEqual(json["rows"] as? Int, 4)
        XCTAssertEqual((json["top_weight_bin_edges"] as? [Double])?.count, 11)
        let gates = try XCTUnwrap(json["gates"] as? [[String: Any]])
        XCTAssertEqual(gates.map { $0["name"] as? String }, ["ctr", "cvr"])
        XCTAssertEqual(gates[0]["collapsed_onto"] as? Int, 0)
        XCTAssertTrue(gates[1]["collapsed_onto"] is NSNull)
        XCTAssertEqual(gates[1]["top_weight_histogram"] as? [Int], [0, 0, 0, 1, 1, 0, 0, 1, 0, 1])
        let probe = try XCTUnwrap(SVGProbe.parse(try String(contentsOfFile: paths[1], encoding: .utf8)))
        XCTAssertTrue(probe.texts.contains { $0.hasPrefix("ctr (100% rows > 0.9)") }, "\(probe.texts)")
        XCTAssertEqual(probe.elements.filter { $0 == "rect" }.count, 1 + 2 + 6)
    }

    /// The gates of a dense-input model without gate hidden layers are softmax(x · W_t): checked
    /// against that formula in Double, row by row.
    func testGateWeightsAreTheSoftmaxOfTheGateLayer() throws {
        let config = MMoEConfig(denseWidth: 4, fieldRows: [], embeddingDim: 0, numExperts: 3, numTasks: 2, expertDNN: [5], towerDNN: [2])
        let model = try MMoEModel(config, seed: 3)
        XCTAssertTrue(model.hasGates)
        let b = 6
        var rng = SeededRNG(seed: 5)
        let x = (0..<(b * 4)).map { _ in 2 * rng.nextUniform() - 1 }
        let batch = Batch(size: b, dense: Tensor(shape: [b, 4], scalars: x), ids: [], labels: Tensor(shape: [2, b], repeating: 0))
        let gates = try XCTUnwrap(model.gateWeights(batch))
        XCTAssertEqual(gates.shape, [2, b, 3])
        let w = model.parameters["gates.out.weight"]!.value.scalars   // [T, D, E]
        for t in 0..<2 {
            for r in 0..<b {
                let z = (0..<3).map { e in (0..<4).reduce(0.0) { $0 + Double(x[r * 4 + $1]) * Double(w[(t * 4 + $1) * 3 + e]) } }
                let m = z.max()!, exps = z.map { Foundation.exp($0 - m) }, total = exps.reduce(0, +)
                for e in 0..<3 { XCTAssertEqual(Double(gates[t, r, e]), exps[e] / total, accuracy: 1e-5) }
            }
        }
        var simple = config
        simple.kind = .simpleMultitask
        let noGates = try MMoEModel(simple, seed: 3)
        XCTAssertFalse(noGates.hasGates)
        XCTAssertNil(noGates.gateWeights(batch))
    }

    func run(_ arguments: [String]) throws -> (out: [String], err: [String]) {
        var out: [String] = [], err: [String] = []
        try TrainCommand(options: try TrainOptions.parse(arguments), print: { out.append($0) }, printError: { err.append($0) }).run()
        return (out, err)
    }

    func testTrainingRunWritesTheReport() throws {
        let out = try temporaryDirectory() + "/result"
        let r = try run(["--num_train_samples", "256", "--num_test_samples", "300", "--num_experts", "4", "--expert_dnn", "8",
                         "--batch_size", "64", "--train_batches", "8", "--output_dir", out, "--threads", "1", "--gate_report"])
        XCTAssertEqual(r.out.filter { $0.hasPrefix("Gates task") }.count, 2, "\(r.out)")
        XCTAssertTrue(r.out.contains("Wrote \(out)/gate_report.svg"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/gate_report.json"))) as! [String: Any]
        XCTAssertEqual(json["rows"] as? Int, 300)
        for gate in json["gates"] as! [[String: Any]] {
            let mean = gate["mean_weight"] as! [Double]
            XCTAssertEqual(mean.count, 4)
            XCTAssertEqual(mean.reduce(0, +), 1, accuracy: 1e-5)
            XCTAssertEqual((gate["top_weight_histogram"] as! [Int]).reduce(0, +), 300)
        }
        XCTAssertNotNil(SVGProbe.parse(try String(contentsOfFile: out + "/gate_report.svg", encoding: .utf8)))
    }

    /// A gate with a hidden layer whose weights are 0 and bias large gives the same gate logits
    /// for every row: loaded into a run, it must be reported as collapsed, with a warning.
    func testCollapsedGateIsWarnedAbout() throws {
        let root = try temporaryDirectory()
        var config = MMoEConfig(denseWidth: 100, fieldRows: [], embeddingDim: 16, numExperts: 3, numTasks: 2,
                                expertDNN: [4], gateDNN: [2], towerDNN: [])
        config.kind = .mmoe
        let model = try MMoEModel(config, seed: 1)
        model.parameters["gates.layers.0.weight"]!.value.fill(0)
        model.parameters["gates.layers.0.bias"]!.value.fill(5)
        let out = model.parameters["gates.out.weight"]!.value   // [T, G, E]: expert 2 gets logit 2 * 5 * 3 = 30 more
        out.fill(0)
        for t in 0..<2 { for g in 0..<2 { out.select(0, t).select(0, g).slice(0, 2..<3).fill(3) } }
        try ModelCheckpoint.save(model, to: root + "/collapsed")
        let r = try run(["--num_train_samples", "128", "--num_test_samples", "50", "--num_experts", "3", "--expert_dnn", "4",
                         "--gate_dnn", "2", "--batch_size", "64", "--train_batches", "1", "--learning_rate", "1e-9",
                         "--model_load_dir", root + "/collapsed", "--output_dir", root + "/result", "--threads", "1", "--gate_report"])
        XCTAssertEqual(r.err.filter { $0.hasPrefix("warning: the gate of task") && $0.contains("collapsed onto expert 2") }.count, 2, "\(r.err)")
    }

    func testModelsWithoutGatesAreRefusedBeforeTraining() throws {
        let out = try temporaryDirectory() + "/result"
        XCTAssertThrowsError(try run(["--model", "simple_multitask", "--num_train_samples", "64", "--num_test_samples", "10",
                                      "--output_dir", out, "--gate_report"])) { error in
            XCTAssertEqual("\(error)", "--gate_report: --model simple_multitask has no MMoE-style gate layer to report on (softmax gates over one shared set of experts: mmoe's, one per task, or omoe's one)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing is written")
    }
}
