import Foundation
import Tensor
import Datasets
import MMoE

/// `mmoe-bench train --config deeprec`: DeepRec's model-zoo MMoE (embedding 16 over 17 Taobao
/// fields, 4 experts [256, 192, 128, 64], towers [256, 192, 128, 64], adagrad lr 0.1, L2 1e-6)
/// at batch 512, in Float, with bfloat16 GEMM inputs (`--bf16`) and as the plain baseline
/// (`--tf`: per-field lookups, unfused layers), per thread count, interleaved; next to the GEMM
/// bound. Then the data path alone: parsing, hashing and batching the training file.
/// With Census files in `dataDir`, the same model and optimizer over Census's 29 fields and 11
/// dense features (input 475) at batch 256: the case furthest from its bound in issue 16.
func benchTrainDeepRec(dataDir: String?, threadCounts: [Int], steps: Int, rounds: Int, json: Bool,
                       batchSize requestedBatch: Int? = nil, variants requestedVariants: [String]? = nil) -> Int32 {
    let train: TabularData, test: TabularData, source: String, config: MMoEConfig
    var trainPath: String?, census = false
    do {
        if let dataDir, CensusIncome.files(in: dataDir) != nil {
            let data = try CensusIncome.load(directory: dataDir)
            (train, test) = (data.train, data.test)
            config = MMoEConfig.deepRec(denseWidth: train.denseWidth, fieldRows: data.encoder.schema.fieldRows)
            source = "census \(dataDir)"
            census = true
        } else if let dataDir {
            guard let files = try Taobao.files(in: dataDir) else {
                try? FileHandle.standardError.write(contentsOf: Data("mmoe-bench: --data_dir \(dataDir): neither taobao_train_data nor census-income.data there\n".utf8))
                return 2
            }
            train = try Taobao.load(path: files.train)
            test = try Taobao.load(path: files.test)
            trainPath = files.train
            source = "taobao \(dataDir)"
            config = MMoEConfig.deepRec(fieldRows: Taobao.schema.fieldRows)
        } else {
            train = taobaoShaped(rows: 20_000, seed: 1)
            test = taobaoShaped(rows: 5_000, seed: 2)
            source = "generated, Taobao-shaped"
            config = MMoEConfig.deepRec(fieldRows: Taobao.schema.fieldRows)
        }
    } catch {
        try? FileHandle.standardError.write(contentsOf: Data("mmoe-bench: \(error)\n".utf8))
        return 2
    }
    let batchSize = requestedBatch ?? (census ? 256 : 512)
    let inputs = census ? "\(config.fieldCount) fields + \(config.denseWidth) dense" : "\(config.fieldCount) fields"
    if !json {
        print("mmoe-bench train --config deeprec: embedding 16 x \(inputs), experts [256, 192, 128, 64] x 4, towers [256, 192, 128, 64], "
              + "adagrad, batch \(batchSize); data: \(source) (\(train.count) train, \(test.count) test rows)")
        print("variant  threads  step ms  samples/s  global steps/s  GEMM-bound samples/s  of bound  eval samples/s  eval bound  of bound")
    }
    struct Run {
        let variant: String, threads: Int, trainer: Trainer
        var windows: [Double] = [], evals: [Double] = []
    }
    var stream = BatchStream(train, batchSize: batchSize, seed: 1)
    var batches: [Batch] = []
    while batches.count < 32 { let b = stream.next(); if b.size == batchSize { batches.append(b) } }
    var runs: [Run] = []
    for variant in requestedVariants ?? ["float", "bf16", "tf"] {
        for threads in threadCounts {
            var settings = TrainerSettings()
            settings.batchSize = batchSize
            settings.optimizer = .adagrad
            settings.learningRate = 0.1
            settings.l2 = 1e-6
            settings.tapeOptions = TapeOptions(fuseEpilogues: variant != "tf", bfloat16: variant == "bf16")
            let model = try! MMoEModel(config, seed: 1)
            model.fuseEmbeddingLookups = variant != "tf"
            runs.append(Run(variant: variant, threads: threads, trainer: Trainer(model: model, train: train, test: test, settings: settings)))
        }
    }
    var bounds = RoundBounds()
    let timed = timeInterleaved(runs.map { ($0.threads, $0.trainer) }, batches: batches, test: test, warmup: 10,
                                rounds: rounds, perWindow: max(1, steps / 5), evalsPerRound: 1) {
        bounds.measure(config, batch: batchSize, testRows: test.count, threadCounts: threadCounts)
    }
    for r in runs.indices { (runs[r].windows, runs[r].evals) = (timed.windows[r], timed.evals[r]) }
    let flops = stepGEMMFlops(config, batch: batchSize)
    var bestTrainRate = 0.0
    for run in runs {
        let step = run.windows.sorted()[run.windows.count / 2]
        let evalRate = Double(test.count) / run.evals.sorted()[run.evals.count / 2]
        let evalBoundRate = Double(test.count) / median(bounds.eval.map { $0[run.threads]! })
        let rate = Double(batchSize) / step, boundRate = Double(batchSize) / median(bounds.train.map { $0[run.threads]! })
        let (ofBound, evalOfBound) = bounds.shares(windows: run.windows, evals: run.evals, threads: run.threads)
        bestTrainRate = max(bestTrainRate, rate)
        if json {
            print("{\"bench\":\"train\",\"config\":\"deeprec\",\"data\":\"\(census ? "census" : "taobao")\",\"batch_size\":\(batchSize),\"variant\":\"\(run.variant)\",\"threads\":\(run.threads),\"step_ms\":\(step * 1000),"
                  + "\"train_samples_per_sec\":\(rate),\"global_steps_per_sec\":\(1 / step),\"gemm_bound_samples_per_sec\":\(boundRate),"
                  + "\"eval_samples_per_sec\":\(evalRate),\"eval_gemm_bound_samples_per_sec\":\(evalBoundRate),"
                  + "\"gemm_bound_share\":\(ofBound),\"eval_gemm_bound_share\":\(evalOfBound)}")
        } else {
            print(String(format: "%-7@  %7d  %7.3f  %9.0f  %14.1f  %20.0f  %7.0f%%  %14.0f  %10.0f  %7.0f%%", run.variant as NSString, run.threads,
                         step * 1000, rate, 1 / step, boundRate, 100 * ofBound, evalRate, evalBoundRate, 100 * evalOfBound))
        }
    }

    // The data path alone, on one thread: the file parsed and hashed in slices, shuffled in
    // windows and gathered into batches, as `mmoe-train` feeds the trainer.
    // Also with the raw 64-bit keys kept (what `--ev` reads), timed alternately with the plain path.
    var dataRate = 0.0, keyedDataRate = 0.0
    if let trainPath {
        do {
            let rows = try Taobao.countRows(path: trainPath)
            let slices = try Taobao.fileSlices(path: trainPath, count: 4)
            func file(keys: Bool) -> SlicedFile {
                SlicedFile(rows: rows, slices: slices) { slice, body in
                    try Taobao.read(path: trainPath, slice: slice, options: TaobaoOptions(keepKeys: keys), body)
                }
            }
            var samples: [[Double]] = [[], []]
            for _ in 0..<5 {
                for keys in [false, true] {
                    let source = FileBatchSource(file(keys: keys), batchSize: batchSize, seed: 1)
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    var seen = 0
                    for _ in 0..<source.batchesPerEpoch { seen += try source.next().size }
                    samples[keys ? 1 : 0].append(Double(seen) / (Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9))
                }
            }
            dataRate = samples[0].sorted()[2]
            keyedDataRate = samples[1].sorted()[2]
        } catch {
            try? FileHandle.standardError.write(contentsOf: Data("mmoe-bench: \(error)\n".utf8))
            return 1
        }
    }
    let rss = ProcessMemory.peakResidentMB() ?? .nan
    if json {
        print("{\"bench\":\"train\",\"config\":\"deeprec\",\"data_path_samples_per_sec\":\(dataRate),"
              + "\"data_path_with_keys_samples_per_sec\":\(keyedDataRate),\"peak_rss_mb\":\(rss)}")
    } else {
        print(String(format: "GEMM work per step: %.1f MFLOP; peak RSS %.0f MB", flops / 1e6, rss))
        if trainPath != nil {
            print(String(format: "data path (parse, hash, shuffle, batch; 1 thread): %.0f samples/s = %.1fx the fastest training rate above",
                         dataRate, dataRate / bestTrainRate))
            print(String(format: "data path keeping raw keys (--ev): %.0f samples/s (%.2fx the plain data path)", keyedDataRate, keyedDataRate / dataRate))
        }
    }
    return 0
}

/// Random rows with the Taobao layout: 17 fields, ids within each field's buckets, tag lists of 0
/// to 4 ids, clicks ~7% and buys ~1%.
private func taobaoShaped(rows: Int, seed: UInt64) -> TabularData {
    var rng = SeededRNG(seed: seed)
    let schema = Taobao.schema
    var ids: [Int32] = [], offsets: [Int32] = [0], labels: [Float] = []
    for _ in 0..<rows {
        for (f, size) in schema.fieldRows.enumerated() {
            let count = f == 14 || f == 15 ? Int(rng.next() % 5) : 1
            for _ in 0..<count { ids.append(Int32(schema.fieldOffsets[f] + Int(rng.next() % UInt64(size)))) }
            offsets.append(Int32(ids.count))
        }
        let click = rng.nextUniform() < 0.07
        labels += [click ? 1 : 0, click && rng.nextUniform() < 0.12 ? 1 : 0]
    }
    return TabularData(count: rows, denseWidth: 0, dense: [], fieldCount: 17, ids: ids, taskNames: Taobao.taskNames, labels: labels,
                       bagOffsets: offsets)
}
