import Foundation
import Tensor
import Datasets
import MMoE

/// `mmoe-bench amp`: training step time of Float, `--bf16`, and `--amp` with each loss-scale
/// policy, interleaved in one process (so a noisy neighbour slows them alike), on the Census
/// reference model (embedding 4, experts [256, 128] x 3, batch 256) and, with `--taobao DIR`,
/// DeepRec's Taobao model (batch 512, adagrad). The ratios to Float are the figures to read.
func benchAMP(arguments: [String]) -> Int32 {
    var censusDir: String?, taobaoDir: String?, steps = 100, rounds = 5, threads = 0
    var i = 0
    func value() -> String? { i += 1; return i < arguments.count ? arguments[i] : nil }
    while i < arguments.count {
        switch arguments[i] {
        case "--data_dir":
            guard let v = value() else { fail("amp: --data_dir needs a directory") }
            censusDir = v
        case "--taobao":
            guard let v = value() else { fail("amp: --taobao needs a directory") }
            taobaoDir = v
        case "--steps":
            guard let v = value(), let n = Int(v), n > 0 else { fail("amp: --steps needs a positive integer") }
            steps = n
        case "--rounds":
            guard let v = value(), let n = Int(v), n > 0 else { fail("amp: --rounds needs a positive integer") }
            rounds = n
        case "--threads":
            guard let v = value(), let n = Int(v), n >= 0 else { fail("amp: --threads needs a non-negative integer") }
            threads = n
        default: fail("amp: unknown option \(arguments[i])")
        }
        i += 1
    }
    guard let censusDir else { fail("amp: --data_dir (the Census-income files) is required") }
    if threads > 0 { Parallel.threads = threads }
    do {
        let census = try CensusIncome.load(directory: censusDir)
        var settings = TrainerSettings()
        settings.batchSize = 256
        let config = MMoEConfig(denseWidth: census.train.denseWidth, fieldRows: census.encoder.schema.fieldRows, embeddingDim: 4)
        timeVariants("census", config, census.train, census.test, settings, steps: steps, rounds: rounds)
        if let taobaoDir {
            guard let files = try Taobao.files(in: taobaoDir) else { fail("amp: --taobao \(taobaoDir): no taobao_train_data there") }
            var s = TrainerSettings()
            s.batchSize = 512
            s.optimizer = .adagrad
            s.learningRate = 0.1
            s.l2 = 1e-6
            timeVariants("taobao", MMoEConfig.deepRec(fieldRows: Taobao.schema.fieldRows), try Taobao.load(path: files.train),
                         try Taobao.load(path: files.test), s, steps: steps, rounds: rounds)
        }
    } catch {
        try? FileHandle.standardError.write(contentsOf: Data("mmoe-bench: \(error)\n".utf8))
        return 2
    }
    return 0
}

/// Times the four precision variants of one model, interleaved, and prints each one's median and
/// and best window and the median of its window-by-window ratios to Float's.
private func timeVariants(_ name: String, _ config: MMoEConfig, _ train: TabularData, _ test: TabularData,
                          _ base: TrainerSettings, steps: Int, rounds: Int) {
    let variants: [(String, Bool, LossScalePolicy?)] = [("float", false, nil), ("bf16", true, nil),
                                                        ("amp static", true, .static), ("amp dynamic", true, .dynamic)]
    var stream = BatchStream(train, batchSize: base.batchSize, seed: 1)
    var batches: [Batch] = []
    while batches.count < 32 { let b = stream.next(); if b.size == base.batchSize { batches.append(b) } }
    let trainers = variants.map { v -> (threads: Int, trainer: Trainer) in
        var s = base
        s.tapeOptions = TapeOptions(bfloat16: v.1)
        s.lossScalePolicy = v.2
        return (Parallel.threads, Trainer(model: try! MMoEModel(config, seed: 1), train: train, test: test, settings: s))
    }
    let timed = timeInterleaved(trainers, batches: batches, test: test, warmup: 10, rounds: rounds,
                                perWindow: max(1, steps / 5), evalsPerRound: 0)
    print("mmoe-bench amp: \(name), batch \(base.batchSize), \(Parallel.threads) threads, \(rounds) rounds of 5 windows of \(max(1, steps / 5)) steps")
    // Windows are paired in time (each variant's j-th window runs right after Float's), so the
    // median of the per-pair ratios is the figure least moved by a neighbour's load.
    print("variant       median step ms  best step ms  median of paired ratios to float")
    for (k, v) in variants.enumerated() {
        let w = timed.windows[k]
        let ratios = zip(w, timed.windows[0]).map { $0 / $1 }.sorted()
        print(v.0.padding(toLength: 12, withPad: " ", startingAt: 0)
              + String(format: "  %14.3f  %12.3f  %10.3fx", w.sorted()[w.count / 2] * 1000, w.min()! * 1000, ratios[ratios.count / 2]))
    }
}
