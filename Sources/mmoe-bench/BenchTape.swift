import Foundation
import Tensor
import Datasets
import MMoE

/// `mmoe-bench tape`: one training step's forward and backward (no optimizer) of the reference
/// model under each tape option (default; `fuseEpilogues` off; `bfloat16` on), timed in
/// interleaved rounds at one thread, and a per-op breakdown from a `Timeline`.
func benchTape(arguments: [String]) -> Int32 {
    var steps = 200, rounds = 3, dataDir: String?, tracePath: String?
    var i = 0
    func value() -> String? { i += 1; return i < arguments.count ? arguments[i] : nil }
    while i < arguments.count {
        switch arguments[i] {
        case "--steps":
            guard let v = value(), let n = Int(v), n > 0 else { fail("tape: --steps needs a positive integer") }
            steps = n
        case "--rounds":
            guard let v = value(), let n = Int(v), n > 0 else { fail("tape: --rounds needs a positive integer") }
            rounds = n
        case "--data_dir":
            guard let v = value() else { fail("tape: --data_dir needs a directory") }
            dataDir = v
        case "--timeline":
            guard let v = value() else { fail("tape: --timeline needs a file name") }
            tracePath = v
        default: fail("tape: unknown option \(arguments[i])")
        }
        i += 1
    }
    guard let dataDir else { fail("tape: needs --data_dir (the Census-income files)") }
    let train: TabularData, fieldRows: [Int]
    do {
        let census = try CensusIncome.load(directory: dataDir)
        (train, fieldRows) = (census.train, census.encoder.schema.fieldRows)
    } catch {
        try? FileHandle.standardError.write(contentsOf: Data("mmoe-bench: \(error)\n".utf8))
        return 2
    }
    let config = MMoEConfig(denseWidth: train.denseWidth, fieldRows: fieldRows, embeddingDim: 4)
    let model = try! MMoEModel(config, seed: 1)
    var stream = BatchStream(train, batchSize: 256, seed: 1)
    var batches: [Batch] = []
    while batches.count < 32 { let b = stream.next(); if b.size == 256 { batches.append(b) } }
    Parallel.threads = 1

    func step(_ batch: Batch, _ options: TapeOptions, _ timeline: Timeline? = nil) {
        var rng = SeededRNG(seed: 1)
        let tape = Tape(options: options, timeline: timeline)
        let logits = model.logits(batch, tape: tape, training: true, rng: &rng)
        tape.backward(model.loss(logits: logits, labels: batch.labels))
    }
    let variants: [(String, TapeOptions)] = [("default (fused, f32)", TapeOptions()),
                                             ("fuseEpilogues false", TapeOptions(fuseEpilogues: false)),
                                             ("bfloat16 true", TapeOptions(bfloat16: true))]
    var times = [[Double]](repeating: [], count: variants.count)
    for (_, o) in variants { for k in 0..<20 { step(batches[k % batches.count], o) } }
    let perWindow = max(1, steps / 5)
    for round in 0..<rounds {
        for w in 0..<5 {
            for (v, (_, o)) in variants.enumerated() {
                let t0 = Timeline.now()
                for k in 0..<perWindow { step(batches[((round * 5 + w) * perWindow + k) % batches.count], o) }
                times[v].append(Double(Timeline.now() - t0) / 1e6 / Double(perWindow))
            }
        }
    }
    print("mmoe-bench tape: forward + backward of one batch of 256 (no optimizer), 1 thread, median of \(times[0].count) windows")
    for (v, (name, _)) in variants.enumerated() {
        print("  " + name.padding(toLength: 22, withPad: " ", startingAt: 0) + String(format: "%7.3f ms", times[v].sorted()[times[v].count / 2]))
    }

    // Per-op breakdown (default and unfused) from a timeline of 50 steps each.
    for (name, options) in variants.prefix(2) {
        let timeline = Timeline()
        for k in 0..<50 { timeline.span("step") { step(batches[k % batches.count], options, timeline) } }
        var total: [String: (UInt64, Int)] = [:]
        for e in timeline.events { total[e.name, default: (0, 0)].0 += e.end - e.start; total[e.name, default: (0, 0)].1 += 1 }
        let stepNs = Double(total["step"]!.0) / 50
        print("timeline, \(name): per step \(String(format: "%.3f", stepNs / 1e6)) ms; ops by time (ms per step, count per step):")
        for (op, (ns, count)) in total.sorted(by: { $0.value.0 > $1.value.0 }) where op != "step" {
            print("  " + op.padding(toLength: 26, withPad: " ", startingAt: 0) + String(format: "%7.3f  %3d", Double(ns) / 50 / 1e6, count / 50))
        }
        if let tracePath, options == TapeOptions() {
            do { try timeline.write(to: URL(fileURLWithPath: tracePath)) } catch {
                try? FileHandle.standardError.write(contentsOf: Data("mmoe-bench: cannot write \(tracePath): \(error)\n".utf8))
                return 1
            }
            print("wrote \(timeline.events.count) events to \(tracePath)")
        }
    }
    return 0
}
