import Foundation
import Datasets
import MMoE

/// `mmoe-bench parquet --stream DIR`: the streamed Parquet data path against the training rate of
/// OneFlow's configuration on the same folder, in interleaved rounds of one run. The data path is
/// what a streamed run's loader does, on the calling thread alone: decode a row group (every
/// column), map its ids, fill and shuffle the window, gather batches of 256 rows; its rows/s is
/// timed over `rows` rows. The training rate is `mmoe-train`'s samples/s with the flags of
/// `Scripts/train_mmoe.sh` and `--parquet_stream on` (the loader then runs on the `--smartstaged`
/// thread beside the step) over `steps` steps, no evaluation. Also times opening the folder (the
/// footers and the id vocabularies' pass).
func benchParquetStream(directory: String, rows: Int, steps: Int, rounds: Int) throws {
    func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
    var stream: CensusParquetStream?
    let open = try seconds { stream = try CensusParquet.openStream(directory: directory) }
    let opened = stream!
    print(String(format: "streamed folder %@: %d training rows in %d row groups; opening (footers, id vocabularies) %.2f s, %.0f rows/s",
                 directory, opened.trainRows, opened.train.count, open, Double(opened.trainRows) / open))
    let batches = max(1, rows / 256)
    let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("mmoe-bench-stream-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: tmp) }
    let flags = ["--data_dir", directory, "--parquet_stream", "on", "--no_eval", "--tensorboard", "false",
                 "--table_size_array", "9, 52, 47, 17, 3, 24, 15, 5, 10, 2, 3, 6, 8, 6, 6, 51, 38, 8, 10, 9, 10, 3, 4, 5, 43, 43, 43, 5, 3",
                 "--store_type", "cached_host_mem", "--cache_memory_budget_mb", "1024", "--batch_size", "256",
                 "--train_batches", "\(steps)", "--loss_print_interval", "\(steps)", "--learning_rate", "0.001",
                 "--embedding_vec_size", "4", "--expert_dnn", "256, 128"]
    var dataRates: [Double] = [], trainRates: [Double] = []
    for round in 0 ..< rounds {
        let source = FileBatchSource(SlicedFile(opened, seed: UInt64(round + 1)), batchSize: 256, seed: UInt64(round + 1))
        var taken = 0
        let t = try seconds { for _ in 0 ..< batches { taken += try source.next().size } }
        dataRates.append(Double(taken) / t)
        let options = try TrainOptions.parse(flags + ["--output_dir", tmp + "/\(round)", "--seed", "\(round + 1)"])
        let summary = try TrainCommand(options: options, print: { _ in }, printError: { _ in }).run()
        trainRates.append(summary.samplesPerSecond)
    }
    func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }
    print(String(format: "streamed data path (1 thread, decode + ids + window shuffle + batches of 256): best %.0f rows/s, median %.0f",
                 dataRates.max()!, median(dataRates)))
    print(String(format: "training, OneFlow's flags, --parquet_stream on, %d steps: best %.0f samples/s, median %.0f", steps,
                 trainRates.max()!, median(trainRates)))
    print(String(format: "data path / training rate: %.1f (medians of %d interleaved rounds)", median(dataRates) / median(trainRates), rounds))
}
