import Foundation
import Tensor
import Datasets
import MMoE

/// `mmoe-bench train`: training and evaluation samples/s of the reference configuration
/// (embedding 4, 3 experts [256, 128], 2 tasks, batch 256) per thread count, next to the bound
/// that the GEMM speed puts on a step, and the peak RSS.
func benchTrain(arguments: [String]) -> Int32 {
    var threadCounts = [1, 2], steps = 300, dataDir: String?, json = false
    var modes: [String] = [], rounds = 5, configName = "census", batchOption: Int?, variants: [String]?
    var i = 0
    func value() -> String? { i += 1; return i < arguments.count ? arguments[i] : nil }
    while i < arguments.count {
        switch arguments[i] {
        case "--threads":
            guard let v = value(), let list = Optional(v.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }),
                  !list.isEmpty, list.allSatisfy({ $0 >= 0 }) else { fail("train: --threads needs a list like 1,2") }
            threadCounts = list
        case "--steps":
            guard let v = value(), let n = Int(v), n > 0 else { fail("train: --steps needs a positive integer") }
            steps = n
        case "--data_dir":
            guard let v = value() else { fail("train: --data_dir needs a directory") }
            dataDir = v
        case "--json": json = true
        case "--config":
            guard let v = value(), v == "census" || v == "deeprec" else { fail("train: --config needs census or deeprec") }
            configName = v
        case "--mode":
            // Hidden: `gemm` runs batches whole (GEMMs split over threads), `shard` cuts them into 2
            // shards run concurrently; a list times each, interleaved.
            guard let v = value() else { fail("train: --mode needs gemm, shard or a list") }
            let list = v.split(separator: ",").map(String.init)
            guard !list.isEmpty, list.allSatisfy({ $0 == "gemm" || $0 == "shard" }) else { fail("train: --mode needs gemm, shard or a list") }
            modes = list
        case "--rounds":
            guard let v = value(), let n = Int(v), n > 0 else { fail("train: --rounds needs a positive integer") }
            rounds = n
        case "--batch_size":
            guard let v = value(), let n = Int(v), n > 0 else { fail("train: --batch_size needs a positive integer") }
            batchOption = n
        case "--variants":
            guard let v = value() else { fail("train: --variants needs a list of float, bf16, tf") }
            let list = v.split(separator: ",").map(String.init)
            guard !list.isEmpty, list.allSatisfy({ ["float", "bf16", "tf"].contains($0) }) else { fail("train: --variants needs a list of float, bf16, tf") }
            variants = list
        default: fail("train: unknown option \(arguments[i])")
        }
        i += 1
    }

    if configName == "deeprec" {
        if !modes.isEmpty { fail("train: --mode applies to --config census") }
        return benchTrainDeepRec(dataDir: dataDir, threadCounts: threadCounts, steps: steps, rounds: rounds, json: json,
                                 batchSize: batchOption, variants: variants)
    }
    if variants != nil { fail("train: --variants applies to --config deeprec") }
    let train: TabularData, test: TabularData, fieldRows: [Int], source: String
    if let dataDir {
        do {
            let census = try CensusIncome.load(directory: dataDir)
            (train, test, fieldRows) = (census.train, census.test, census.encoder.schema.fieldRows)
            source = "census \(dataDir)"
        } catch {
            try? FileHandle.standardError.write(contentsOf: Data("mmoe-bench: \(error)\n".utf8))
            return 2
        }
    } else {
        fieldRows = CensusIncome.defaultTableSizes.map { $0 + 1 }
        train = censusShaped(rows: 13_334, fieldRows: fieldRows, seed: 1)
        test = censusShaped(rows: 6_666, fieldRows: fieldRows, seed: 2)
        source = "generated, Census-shaped"
    }
    let config = MMoEConfig(denseWidth: train.denseWidth, fieldRows: fieldRows, embeddingDim: 4)
    let batchSize = batchOption ?? 256
    if !json {
        print("mmoe-bench train: embedding 4, experts [256, 128] x 3, 2 tasks, batch \(batchSize); data: \(source) (\(train.count) train, \(test.count) test rows)")
        print("threads  step ms  train samples/s  GEMM-bound samples/s  of bound  eval samples/s  eval bound  of bound")
    }
    // Every (mode, threads) setting gets its own trainer; the timed windows of all settings are
    // interleaved round by round, so a noisy neighbour slows them alike.
    struct Run {
        let mode: String?, threads: Int, trainer: Trainer
        var windows: [Double] = [], evals: [Double] = []
    }
    var stream = BatchStream(train, batchSize: batchSize, seed: 1)
    // Full batches only, prepared up front, so the figure is the step itself.
    var batches: [Batch] = []
    while batches.count < 64 { let b = stream.next(); if b.size == batchSize { batches.append(b) } }
    var runs: [Run] = []
    for mode in modes.isEmpty ? [nil] : modes.map(Optional.some) {
        for threads in threadCounts {
            var settings = TrainerSettings()
            settings.batchSize = batchSize
            if let mode { settings.batchShards = mode == "shard" ? 2 : 1 }
            runs.append(Run(mode: mode, threads: threads,
                            trainer: Trainer(model: try! MMoEModel(config, seed: 1), train: train, test: test, settings: settings)))
        }
    }
    var bounds = RoundBounds()
    let timed = timeInterleaved(runs.map { ($0.threads, $0.trainer) }, batches: batches, test: test, warmup: 20,
                                rounds: rounds, perWindow: max(1, steps / 5), evalsPerRound: 3) {
        bounds.measure(config, batch: batchSize, testRows: test.count, threadCounts: threadCounts)
    }
    for r in runs.indices { (runs[r].windows, runs[r].evals) = (timed.windows[r], timed.evals[r]) }
    let flops = stepGEMMFlops(config, batch: batchSize)
    for run in runs {
        let step = run.windows.sorted()[run.windows.count / 2]
        let evalSeconds = run.evals.sorted()[run.evals.count / 2]
        let trainRate = Double(batchSize) / step, boundRate = Double(batchSize) / median(bounds.train.map { $0[run.threads]! })
        let evalRate = Double(test.count) / evalSeconds, evalBoundRate = Double(test.count) / median(bounds.eval.map { $0[run.threads]! })
        let (ofBound, evalOfBound) = bounds.shares(windows: run.windows, evals: run.evals, threads: run.threads)
        let mode = run.mode.map { ",\"mode\":\"\($0)\"" } ?? ""
        if json {
            print("{\"bench\":\"train\"\(mode),\"threads\":\(run.threads),\"step_ms\":\(step * 1000),\"train_samples_per_sec\":\(trainRate),\"gemm_bound_samples_per_sec\":\(boundRate),\"gemm_mflop_per_step\":\(flops / 1e6),\"eval_samples_per_sec\":\(evalRate),\"eval_gemm_bound_samples_per_sec\":\(evalBoundRate),\"gemm_bound_share\":\(ofBound),\"eval_gemm_bound_share\":\(evalOfBound)}")
        } else {
            let label = run.mode.map { "\($0) " } ?? ""
            let extra = run.mode == nil ? "" : String(format: "   (best window %.3f ms, best eval %.0f/s)", run.windows.min()! * 1000, Double(test.count) / run.evals.min()!)
            print(String(format: "%@%7d  %7.3f  %15.0f  %20.0f  %7.0f%%  %14.0f  %10.0f  %7.0f%%", label, run.threads, step * 1000, trainRate, boundRate,
                         100 * ofBound, evalRate, evalBoundRate, 100 * evalOfBound) + extra)
        }
    }
    let rss = ProcessMemory.peakResidentMB() ?? .nan
    if json {
        print("{\"bench\":\"train\",\"peak_rss_mb\":\(rss)}")
    } else {
        print(String(format: "GEMM work per step: %.1f MFLOP (forward, and both gradients of every layer); peak RSS %.0f MB", flops / 1e6, rss))
    }
    return 0
}

/// The GEMM bounds of training and evaluation, measured once per round of `timeInterleaved`
/// right after the round's timed steps, by thread count.
/// NOTE: measured once after all rounds, the bound and the steps met different neighbours on a
/// shared machine: one run reported a step at 127% of its bound. A share is now each round's
/// steps against that round's bound, and the figure is the median of the rounds' shares.
struct RoundBounds {
    var train: [[Int: Double]] = [], eval: [[Int: Double]] = []

    mutating func measure(_ c: MMoEConfig, batch: Int, testRows: Int, threadCounts: [Int]) {
        var t: [Int: Double] = [:], e: [Int: Double] = [:]
        for threads in threadCounts {
            t[threads] = gemmBoundSeconds(c, batch: batch, threads: threads)
            e[threads] = evalBoundSeconds(c, rows: testRows, chunkRows: TrainerSettings().evalBatchSize, threads: threads)
        }
        train.append(t)
        eval.append(e)
    }

    /// The share of the bound reached in training and in evaluation: per round, the bound's
    /// seconds over the median step (evaluation) of that round; the median over the rounds.
    func shares(windows: [Double], evals: [Double], threads: Int) -> (train: Double, eval: Double) {
        let rounds = train.count
        let w = windows.count / rounds, e = evals.count / rounds
        let trainShares = (0..<rounds).map { r in train[r][threads]! / median(Array(windows[(r * w)..<((r + 1) * w)])) }
        let evalShares = (0..<rounds).map { r in eval[r][threads]! / median(Array(evals[(r * e)..<((r + 1) * e)])) }
        return (median(trainShares), median(evalShares))
    }
}

/// The median (the mean of the middle two for an even count).
func median(_ values: [Double]) -> Double {
    let s = values.sorted(), n = s.count
    return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
}

/// Times `trainers` (each at its own thread count) in interleaved rounds, so a noisy neighbour
/// slows them alike: `warmup` steps each, then per round 5 windows of `perWindow` steps for every
/// trainer in turn and `evalsPerRound` evaluations of `test`, then `afterRound`. Returns each
/// trainer's seconds per step of every window, and seconds of every evaluation, in round order.
func timeInterleaved(_ trainers: [(threads: Int, trainer: Trainer)], batches: [Batch], test: TabularData, warmup: Int,
                     rounds: Int, perWindow: Int, evalsPerRound: Int,
                     afterRound: () -> Void = {}) -> (windows: [[Double]], evals: [[Double]]) {
    var windows = [[Double]](repeating: [], count: trainers.count), evals = windows
    for run in trainers {
        Parallel.threads = run.threads
        for k in 0..<warmup { _ = run.trainer.trainStep(batches[k % batches.count]) }
        _ = run.trainer.evaluate(test, epoch: 0, step: 0)
    }
    for round in 0..<rounds {
        for w in 0..<5 {
            for (r, run) in trainers.enumerated() {
                Parallel.threads = run.threads
                let t0 = DispatchTime.now().uptimeNanoseconds
                for k in 0..<perWindow { _ = run.trainer.trainStep(batches[((round * 5 + w) * perWindow + k) % batches.count]) }
                windows[r].append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 / Double(perWindow))
            }
        }
        for _ in 0..<evalsPerRound {
            for (r, run) in trainers.enumerated() {
                Parallel.threads = run.threads
                evals[r].append(run.trainer.evaluate(test, epoch: 0, step: 0).evalSeconds)
            }
        }
        afterRound()
    }
    return (windows, evals)
}

/// Random rows with Census's layout: 11 dense features in [0, 1], 29 fields with the default
/// table sizes, two labels (~6% and ~40% positive).
private func censusShaped(rows: Int, fieldRows: [Int], seed: UInt64) -> TabularData {
    var rng = SeededRNG(seed: seed)
    var dense: [Float] = [], ids: [Int32] = [], labels: [Float] = []
    let offsets = fieldRows.reduce(into: [0]) { $0.append($0.last! + $1) }
    for _ in 0..<rows {
        for _ in 0..<11 { dense.append(rng.nextUniform()) }
        for (f, r) in fieldRows.enumerated() { ids.append(Int32(offsets[f] + Int(rng.next() % UInt64(r - 1)))) }
        labels.append(rng.nextUniform() < 0.06 ? 1 : 0)
        labels.append(rng.nextUniform() < 0.4 ? 1 : 0)
    }
    return TabularData(count: rows, denseWidth: 11, dense: dense, fieldCount: fieldRows.count, ids: ids,
                       taskNames: CensusIncome.taskNames, labels: labels)
}

/// The GEMMs of one training step of `c` at batch `b`: forward Y = X·W (NN), backward dX = dY·Wᵀ
/// (NT) and dW = Xᵀ·dY (TN) for every layer, the stacked experts, gates and towers as `count`
/// GEMMs of one shape each.
func stepGEMMs(_ c: MMoEConfig, batch b: Int) -> [(m: Int, k: Int, n: Int, variant: String, count: Int)] {
    var layers: [(k: Int, n: Int, count: Int)] = []
    func stack(_ widths: [Int], _ count: Int) {
        for l in 1..<widths.count { layers.append((widths[l - 1], widths[l], count)) }
    }
    stack([c.inputWidth] + c.expertDNN, c.numExperts)
    stack([c.inputWidth] + c.gateDNN + [c.numExperts], c.numTasks)
    stack([c.expertDNN.last!] + c.towerDNN + [1], c.numTasks)
    return layers.flatMap { l in
        [(b, l.k, l.n, "NN", l.count), (b, l.n, l.k, "NT", l.count), (l.k, b, l.n, "TN", l.count)]
    }
}

/// The time evaluation's GEMMs take on their own for `rows` rows: the forward products (NN) only,
/// as `Predictor` runs them: chunks of `chunkRows` rows cut into one shard per thread (no smaller
/// than `Predictor.minShardRows`), each shard's GEMMs on one core, `Predictor.defaultBlockRows`
/// rows at a time. Each block size is timed at one thread, and the shards of a chunk are assumed
/// to run perfectly in parallel.
func evalBoundSeconds(_ c: MMoEConfig, rows: Int, chunkRows: Int, threads: Int) -> Double {
    let blockRows = Predictor.defaultBlockRows
    var perBlockRows: [Int: Double] = [:]   // one block's GEMM seconds, by its rows
    func blockSeconds(_ m: Int) -> Double {
        if let s = perBlockRows[m] { return s }
        let s = stepGEMMs(c, batch: m).filter { $0.variant == "NN" }.reduce(0) { total, g in
            total + Double(g.count) * 2 * Double(g.m * g.n * g.k) / (measureOurs(m: g.m, k: g.k, n: g.n, variant: "NN", threads: 1) * 1e9)
        }
        perBlockRows[m] = s
        return s
    }
    func shardSeconds(_ m: Int) -> Double {
        let full = m / blockRows, rest = m % blockRows
        return (full > 0 ? Double(full) * blockSeconds(blockRows) : 0) + (rest > 0 ? blockSeconds(rest) : 0)
    }
    var total = 0.0, start = 0
    while start < rows {
        let n = min(chunkRows, rows - start)
        let shards = max(1, min(threads, n / Predictor.minShardRows))
        // The chunk takes as long as its largest shard.
        total += shardSeconds((n + shards - 1) / shards)
        start += n
    }
    return total
}

/// FLOPs of the step's GEMMs (2·m·n·k each).
func stepGEMMFlops(_ c: MMoEConfig, batch b: Int) -> Double {
    stepGEMMs(c, batch: b).reduce(0) { $0 + 2 * Double($1.m * $1.n * $1.k * $1.count) }
}

/// The time the step's GEMMs take on their own: each shape timed alone by `mmoe-bench gemm`'s
/// measurement, at `threads` threads or on one thread with perfect scaling to `threads` cores,
/// whichever is faster (a step may run its shards' GEMMs on separate cores, so the threaded GEMM
/// alone would understate what the cores can do).
func gemmBoundSeconds(_ c: MMoEConfig, batch b: Int, threads: Int) -> Double {
    stepGEMMs(c, batch: b).reduce(0) { total, g in
        let single = measureOurs(m: g.m, k: g.k, n: g.n, variant: g.variant, threads: 1)
        let threaded = threads == 1 ? single : measureOurs(m: g.m, k: g.k, n: g.n, variant: g.variant, threads: threads)
        let gflops = max(threaded, single * Double(max(threads, 1)))
        return total + Double(g.count) * 2 * Double(g.m * g.n * g.k) / (gflops * 1e9)
    }
}
