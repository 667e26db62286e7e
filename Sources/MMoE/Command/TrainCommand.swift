import Foundation
import Tensor
import Datasets

/// A problem with the command line or its inputs: printed as it is, exit code 2.
public struct UsageError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// What `mmoe-train` does once its arguments are parsed: check everything, load the data, build
/// the model, train, and write the results. Nothing is written to `--output_dir` or
/// `--model_save_dir` until every check has passed and the data has loaded.
public struct TrainCommand {
    public let options: TrainOptions
    /// Where lines go (stdout in the CLI; a buffer in tests).
    public var print: (String) -> Void
    /// Where notices and warnings go (stderr in the CLI).
    public var printError: (String) -> Void

    public init(options: TrainOptions, print: @escaping (String) -> Void = { Swift.print($0) },
                printError: @escaping (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) {
        self.options = options
        self.print = print
        self.printError = printError
    }

    /// The data a run trains and evaluates on.
    struct LoadedData {
        let kind: DatasetKind
        let train: TabularData, test: TabularData
        let fieldRows: [Int]
    }

    /// Which data `--dataset` / `--data_dir` name, with the reason when neither works.
    func resolveDataset() throws(UsageError) -> DatasetKind {
        guard let dir = options.dataDir else {
            if let kind = options.dataset, kind != .synthetic {
                throw UsageError("--dataset \(kind.rawValue) needs --data_dir (the directory holding its files)")
            }
            return .synthetic
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw UsageError("--data_dir \(dir): no such directory")
        }
        if let kind = options.dataset {
            if kind == .synthetic { throw UsageError("--dataset synthetic generates its data; drop --data_dir \(dir)") }
            return kind
        }
        if CensusIncome.files(in: dir) != nil { return .census }
        if FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent("taobao_train_data")) { return .taobao }
        throw UsageError("--data_dir \(dir): found neither census-income.data[.gz] nor taobao_train_data; pass --dataset to say which data it is")
    }

    func loadData(_ kind: DatasetKind) throws -> LoadedData {
        switch kind {
        case .synthetic:
            var s = SyntheticTasks.Settings()
            s.correlation = options.correlation
            s.seed = options.seed
            let (train, test, _) = SyntheticTasks.generate(trainRows: options.numTrainSamples ?? 100_000,
                                                          testRows: options.numTestSamples ?? 20_000, settings: s, binary: true)
            return LoadedData(kind: kind, train: train, test: test, fieldRows: [])
        case .census:
            let census = try CensusIncome.load(directory: options.dataDir!, tableSizes: options.tableSizeArray,
                                               maxTrainRows: options.numTrainSamples, maxTestRows: options.numTestSamples)
            for w in census.warnings { printError("warning: \(w)") }
            return LoadedData(kind: kind, train: census.train, test: census.test, fieldRows: census.encoder.schema.fieldRows)
        case .taobao:
            throw UsageError("--dataset taobao: the Taobao reader and the DeepRec flags are not built yet; this version trains on Census-income or synthetic data")
        }
    }

    /// Runs the whole command; the returned summary has also been printed and written.
    @discardableResult
    public func run() throws -> TrainingSummary {
        let o = options
        for note in o.notYetNotices { printError(note) }
        if o.tableSizeArray != nil && o.dataDir == nil {
            throw UsageError("--table_size_array applies to Census-income sparse fields; the built-in synthetic data has none")
        }
        let kind = try resolveDataset()
        Parallel.threads = o.threads
        let data = try loadData(kind)
        guard data.test.count > 0 else { throw UsageError("the test split is empty; evaluation needs rows") }
        guard o.numTasks == data.train.taskCount else {
            throw UsageError("--num_tasks \(o.numTasks): the \(kind.rawValue) data has \(data.train.taskCount) tasks (\(data.train.taskNames.joined(separator: ", ")))")
        }
        let config = MMoEConfig(denseWidth: data.train.denseWidth, fieldRows: data.fieldRows, embeddingDim: o.embeddingVecSize,
                                numExperts: o.numExperts, numTasks: o.numTasks, expertDNN: o.expertDNN, gateDNN: o.gateDNN,
                                towerDNN: o.towerDNN, dropout: o.netDropout)
        let model: MMoEModel
        do { model = try MMoEModel(config, seed: o.seed) } catch { throw UsageError(error.description) }
        if let dir = o.modelLoadDir {
            do { try ModelCheckpoint.load(into: model, from: dir) } catch { throw UsageError("\(error)") }
            print("Loaded model from \(dir)")
        }

        // Every check has passed: from here on, outputs are written.
        let outputDir = URL(fileURLWithPath: o.outputDir)
        try FileManager.default.createDirectory(at: outputDir, withIntermediateDirectories: true)
        let metricsURL = outputDir.appendingPathComponent("metrics.jsonl")
        FileManager.default.createFile(atPath: metricsURL.path, contents: nil)
        let metrics = try FileHandle(forWritingTo: metricsURL)
        defer { try? metrics.close() }
        func record(_ object: [String: Any]) { metrics.write(Data((RunLog.json(object) + "\n").utf8)) }

        func save(_ name: String) throws {
            guard let root = o.modelSaveDir else { return }
            let path = (root as NSString).appendingPathComponent(name)
            print("Saving model to \(path)")
            try ModelCheckpoint.save(model, to: path, metadata: ["dataset": kind.rawValue])
        }
        print(argumentsTable())
        print("Model: \(config.numExperts) experts \(config.expertDNN), gates \(config.gateDNN), towers \(config.towerDNN), "
              + "\(config.numTasks) tasks, input \(config.inputWidth) (\(config.fieldCount) fields x \(config.embeddingDim) + \(config.denseWidth) dense), "
              + "\(model.parameterCount) parameters; data: \(kind.rawValue), \(data.train.count) train / \(data.test.count) test rows; threads \(Parallel.threads)")
        if o.saveInitialModel { try save("initial_checkpoint") }

        var settings = TrainerSettings()
        settings.batchSize = o.batchSize
        settings.trainBatches = o.trainBatches
        settings.lossPrintInterval = o.lossPrintInterval
        settings.learningRate = o.learningRate
        settings.lrFactor = o.lrFactor
        settings.minLR = o.minLR
        settings.seed = o.seed
        let trainer = Trainer(model: model, train: data.train, test: data.test, settings: settings)
        let tasks = data.train.taskNames
        let summary = try trainer.run { event in
            switch event {
            case .step(let r):
                print(RunLog.stepLine(r, tasks: tasks))
                record(RunLog.stepRecord(r, tasks: tasks))
            case .evaluation(let r):
                print(RunLog.evalLine(r, tasks: tasks, hostMemoryMB: ProcessMemory.residentMB()))
                record(RunLog.evalRecord(r, tasks: tasks))
                if o.saveModelAfterEachEval {
                    let aucs = zip(tasks, r.auc).map { "\($0)_\(String(format: "%.5f", $1))" }.joined(separator: "_")
                    try save("step_\(r.step)_val_auc_\(aucs)")
                }
            }
        }
        if o.modelSaveDir != nil { try save("final_checkpoint") }
        let rss = ProcessMemory.peakResidentMB()
        let summaryData = Data(RunLog.json(RunLog.summaryRecord(summary, dataset: kind.rawValue, tasks: tasks, peakRSSMB: rss)).utf8)
        try summaryData.write(to: outputDir.appendingPathComponent("summary.json"), options: .atomic)
        let e = summary.finalEvaluation
        let aucText = zip(tasks, e.auc).map { "\($0) \(String(format: "%.4f", $1))" }.joined(separator: ", ")
        print("mmoe-train: \(kind.rawValue), \(summary.steps) steps (\(String(format: "%.2f", summary.epochs)) epochs) in "
              + "\(String(format: "%.1f", summary.trainSeconds)) s, \(Int(summary.samplesPerSecond.rounded())) samples/s; test AUC \(aucText); "
              + "peak RSS \(rss.map { "\(Int($0.rounded())) MB" } ?? "n/a"); results in \(o.outputDir)")
        return summary
    }

    /// The effective arguments, one per line, framed as OneFlow's script prints them.
    func argumentsTable() -> String {
        let o = options
        func list(_ l: [Int]) -> String { "[" + l.map(String.init).joined(separator: ", ") + "]" }
        let rows: [(String, String)] = [
            ("batch_size", "\(o.batchSize)"), ("cache_memory_budget_mb", "\(o.cacheMemoryBudgetMB)"),
            ("correlation", "\(o.correlation)"), ("data_dir", o.dataDir ?? "None (built-in synthetic data)"),
            ("dataset", o.dataset?.rawValue ?? "auto"), ("embedding_vec_size", "\(o.embeddingVecSize)"),
            ("expert_dnn", list(o.expertDNN)), ("gate_dnn", list(o.gateDNN)), ("learning_rate", "\(o.learningRate)"),
            ("loss_print_interval", "\(o.lossPrintInterval)"), ("lr_factor", "\(o.lrFactor)"), ("min_lr", "\(o.minLR)"),
            ("model_load_dir", o.modelLoadDir ?? "None"), ("model_save_dir", o.modelSaveDir ?? "None"),
            ("net_dropout", "\(o.netDropout)"), ("num_experts", "\(o.numExperts)"), ("num_tasks", "\(o.numTasks)"),
            ("num_test_samples", o.numTestSamples.map(String.init) ?? "all"), ("num_train_samples", o.numTrainSamples.map(String.init) ?? "all"),
            ("output_dir", o.outputDir), ("save_initial_model", "\(o.saveInitialModel)"),
            ("save_model_after_each_eval", "\(o.saveModelAfterEachEval)"), ("seed", "\(o.seed)"),
            ("table_size_array", o.tableSizeArray.map(list) ?? "default"), ("threads", o.threads == 0 ? "0 (all cores)" : "\(o.threads)"),
            ("tower_dnn", list(o.towerDNN)), ("train_batches", "\(o.trainBatches)"),
        ]
        var lines = ["------------------------ arguments ------------------------"]
        for (name, value) in rows { lines.append("  \(name) \(String(repeating: ".", count: max(1, 48 - name.count))) \(value)") }
        lines.append("-------------------- end of arguments ---------------------")
        return lines.joined(separator: "\n")
    }
}
