import Foundation
import Tensor
import Datasets

/// OneFlow's Census Parquet folder streamed (`--parquet_stream`): the training split's row groups
/// are decoded by the loader (on the `--smartstaged` background thread, or `--workqueue`'s loader
/// threads) as training consumes them, through `FileBatchSource`, the streamed Taobao file's
/// source. Each epoch reads every row group once, in a seeded order over all files
/// (`SlicedFile.seededOrder`), and shuffles rows within a window of `--shuffle_window` rows; the
/// test split is read row group by row group at each evaluation, in file order.
extension TrainCommand {
    /// The share of the machine's memory the decoded splits may take before `auto` streams.
    static let parquetInMemoryShare = 4

    /// The streamed folder, or nil when the data is read into memory: not OneFlow's Parquet
    /// folder, `--parquet_stream off`, or `auto` and the decoded rows would take at most a quarter
    /// of the machine's memory (where the in-memory path is the faster one).
    func streamedCensusParquet(_ kind: DatasetKind, _ o: TrainOptions) throws -> LoadedData? {
        let isFolder = kind == .census && o.dataDir.map { CensusIncome.files(in: $0) == nil && CensusParquet.looksLikeFolder($0) } ?? false
        guard isFolder else {
            if o.parquetStream == .on {
                throw UsageError("--parquet_stream on streams OneFlow's Census Parquet folder (train/ and test/ of part-*.parquet); \(o.dataDir.map { "\(o.dataDirFlag) \($0) is not one" } ?? "there is no --data_dir")")
            }
            return nil
        }
        guard o.censusTasks == .incomeMarital else { return nil }  // CensusIncome.load refuses it, saying why
        let dir = o.dataDir!
        switch o.parquetStream {
        case .off: return nil
        case .on: break
        case .auto:
            guard let rows = CensusParquet.rowCounts(directory: dir) else { return nil }  // load says what is wrong
            let train = min(rows.train, o.numTrainSamples ?? .max), test = min(rows.test, o.numTestSamples ?? .max)
            let bytes = (train + test) * CensusParquet.bytesPerRow(keepKeys: o.usesDynamicRows)
            guard bytes > MemoryEstimate.machineBytes / Self.parquetInMemoryShare else { return nil }
        }
        let window = try shuffleWindow(o)
        let stream = try CensusParquet.openStream(directory: dir, tableSizes: o.tableSizeArray, maxTrainRows: o.numTrainSamples,
                                                  maxTestRows: o.numTestSamples, keepKeys: o.usesDynamicRows, validPaths: o.validFiles)
        for w in stream.warnings { printError("warning: \(w)") }
        let loaders = o.workqueue ? max(2, Parallel.threads) : 1
        let files = Set(stream.train.map(\.path)).count
        print("Streaming \(dir): \(stream.train.count) row groups of \(files) training file\(files == 1 ? "" : "s") in a seeded order each epoch, "
              + "rows shuffled within windows of \(window); the test split read row group by row group at each evaluation")
        let schema = stream.encoder.schema
        // The validation set: --valid_files read row group by row group as the test split is, or
        // --valid_fraction's rows skipped as the training row groups stream.
        var train = SlicedFile(stream, seed: o.seed), trainRows = stream.trainRows
        var valid: (data: EvalData, rows: Int)? = nil
        if !o.validFiles.isEmpty {
            guard stream.validRows > 0 else { throw UsageError("--valid_files \(o.validFiles.joined(separator: ",")): no rows to validate on") }
            valid = (.rowGroups(stream.valid, of: stream), stream.validRows)
        } else if let f = o.validFraction {
            let split = try train.holdingOut(ValidationSplit(fraction: Double(f), seed: o.seed))
            try Self.checkSplit(kept: split.kept, heldOut: split.heldOut, fraction: f)
            train = split.train
            trainRows = split.kept
            valid = (split.valid, split.heldOut)
        }
        var loaded = LoadedData(kind: kind, source: FileBatchSource(train, batchSize: o.batchSize, window: window, seed: o.seed, loaderThreads: loaders),
                                test: .testSplit(of: stream), trainRows: trainRows, testRows: stream.testRows, denseWidth: CensusIncome.denseNames.count,
                                fieldRows: schema.fieldRows, taskNames: CensusIncome.taskNames, censusEncoder: nil, fieldNames: schema.fieldNames)
        if let valid {
            loaded.valid = valid.data
            loaded.validRows = valid.rows
        }
        return loaded
    }

    /// `--shuffle_window`, which a streamed source needs to hold at least one batch.
    func shuffleWindow(_ o: TrainOptions) throws(UsageError) -> Int {
        guard o.shuffleWindow >= o.batchSize else {
            throw UsageError("--shuffle_window \(o.shuffleWindow) is smaller than --batch_size \(o.batchSize); a window must hold a batch")
        }
        return o.shuffleWindow
    }
}
