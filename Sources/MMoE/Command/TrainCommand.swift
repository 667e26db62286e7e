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
    /// The job's other ranks when this process is one of several (`DistributedRun.join()`).
    public var communicator: (any Communicator)?
    /// `--schema` training files up to this many bytes train from memory; larger ones stream.
    public var schemaMemoryBytes = TrainCommand.schemaMemoryLimit

    public init(options: TrainOptions, print: @escaping (String) -> Void = { Swift.print($0) },
                printError: @escaping (String) -> Void = { try? FileHandle.standardError.write(contentsOf: Data(($0 + "\n").utf8)) }) {
        self.options = options
        self.print = print
        self.printError = printError
    }

    /// The data a run trains and evaluates on.
    struct LoadedData {
        let kind: DatasetKind
        var source: BatchSource
        let test: EvalData
        let trainRows: Int, testRows: Int
        let denseWidth: Int
        let fieldRows: [Int]
        let taskNames: [String]
        /// Census: the encoder fitted on the training split, for the checkpoint manifest.
        var censusEncoder: CensusEncoder? = nil
        /// The sparse fields' names, in `fieldRows` order (empty: no sparse fields).
        var fieldNames: [String] = []
        /// The validation set and its rows (`--valid_fraction`, `--valid_files`); nil: none.
        var valid: EvalData? = nil
        var validRows = 0
        /// Per-task weights and conditions the data brings (e.g. a schema); flags override them.
        var taskLoss: TaskLossSettings? = nil
        /// The training rows when they are held in memory (for `--train_eval_rows`).
        var trainTable: TabularData? = nil
        /// `--schema` data: the schema fitted on the training files (tasks' weights and conditions
        /// in `schema.tasks`, passed on as `taskLoss`; see TrainCommand+Schema.swift).
        var schema: DataSchema? = nil
    }

    /// Which data `--dataset` / `--data_dir` name, with the reason when neither works.
    func resolveDataset() throws(UsageError) -> DatasetKind {
        if let kind = try resolveSchemaDataset() { return kind }
        let flag = options.dataDirFlag
        guard let dir = options.dataDir else {
            if let kind = options.dataset, kind != .synthetic {
                throw UsageError("--dataset \(kind.rawValue) needs --data_dir or --data_location (the directory holding its files)")
            }
            return .synthetic
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw UsageError("\(flag) \(dir): no such directory")
        }
        if let kind = options.dataset {
            if kind == .synthetic { throw UsageError("--dataset synthetic generates its data; drop \(flag) \(dir)") }
            return kind
        }
        if CensusIncome.files(in: dir) != nil || CensusParquet.looksLikeFolder(dir) { return .census }
        if FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent(Taobao.trainFileName)) { return .taobao }
        throw UsageError("\(flag) \(dir): found neither census-income.data[.gz], OneFlow's train/ and test/ Parquet folders, nor \(Taobao.trainFileName); pass --dataset to say which data it is")
    }

    /// Loads (or, for Taobao, opens for streaming) the data of `kind` under the resolved options `o`.
    func loadData(_ kind: DatasetKind, _ o: TrainOptions) throws -> LoadedData {
        func inMemory(_ all: TabularData, _ test: TabularData, fieldRows: [Int], fieldNames: [String] = [], valid: TabularData? = nil) throws -> LoadedData {
            let (train, heldOut) = try holdOut(all, o)
            var loaded = LoadedData(kind: kind, source: MemoryBatchSource(train, batchSize: o.batchSize, seed: o.seed), test: .memory(test),
                                    trainRows: train.count, testRows: test.count, denseWidth: train.denseWidth, fieldRows: fieldRows,
                                    taskNames: train.taskNames, fieldNames: fieldNames, trainTable: train)
            if let v = heldOut ?? valid { (loaded.valid, loaded.validRows) = (.memory(v), v.count) }
            return loaded
        }
        if let streamed = try streamedCensusParquet(kind, o) { return streamed }
        switch kind {
        case .synthetic:
            var s = SyntheticTasks.Settings()
            s.correlation = o.correlation
            s.seed = o.seed
            s.inputDim = o.syntheticDim
            s.scale = o.syntheticScale
            s.sinTerms = o.syntheticSinTerms
            s.alphaBetaStd = o.syntheticAlphaBetaStd
            s.noiseStd = o.syntheticNoise
            // Task types are checked against the data's two tasks after loading; a wrong count
            // generates all-binary labels and is refused there.
            let binary = o.taskTypes.count == 2 ? o.taskTypes.map { $0 == .binary } : [true, true]
            let (train, test, _) = SyntheticTasks.generate(trainRows: o.numTrainSamples ?? 100_000,
                                                          testRows: o.numTestSamples ?? 20_000, settings: s, binaryTasks: binary)
            return try inMemory(train, test, fieldRows: [])
        case .census:
            let census = try CensusIncome.load(directory: o.dataDir!, tableSizes: o.tableSizeArray,
                                               maxTrainRows: o.numTrainSamples, maxTestRows: o.numTestSamples, tasks: o.censusTasks,
                                               keepKeys: o.usesDynamicRows, validPaths: o.validFiles)
            for w in census.warnings { printError("warning: \(w)") }
            var loaded = try inMemory(census.train, census.test, fieldRows: census.encoder.schema.fieldRows, fieldNames: census.encoder.schema.fieldNames,
                                      valid: try censusValidFiles(census, o))
            loaded.censusEncoder = census.encoderReadsRawLines ? census.encoder : nil
            return loaded
        case .schema:
            return try loadSchemaData(o)
        case .taobao:
            guard let files = try Taobao.files(in: o.dataDir!) else {
                throw UsageError("\(o.dataDirFlag) \(o.dataDir!): Taobao data needs both \(Taobao.trainFileName) and \(Taobao.testFileName)")
            }
            let reader = TaobaoOptions(clampPrice: o.clampPrice, keepKeys: o.usesDynamicRows)
            let limit = o.numTrainSamples, testLimit = o.numTestSamples
            let rows = min(try Taobao.countRows(path: files.train), limit ?? .max)
            let testRows = min(try Taobao.countRows(path: files.test), testLimit ?? .max)
            guard rows > 0 else { throw UsageError("\(files.train): no rows to train on") }
            // The test file is read through once now, so a bad line in it stops the run before training, not after.
            if !o.noEval { try Taobao.read(path: files.test, chunkRows: 4096, maxRows: testLimit, options: reader) { _ in true } }
            let loaders = o.workqueue ? max(2, Parallel.threads) : 1
            // Slices of a few MB: small enough to parse ahead in bounded memory, several per
            // loader thread even on small files.
            let size = (try? FileManager.default.attributesOfItem(atPath: files.train)[.size] as? Int) ?? 0
            let sliceCount = max(loaders * 2 * worldSize, size / (8 << 20))
            let slices = limit == nil ? try Taobao.fileSlices(path: files.train, count: sliceCount) : [FileSlice(bytes: 0..<size, firstLine: 1)]
            let trainPath = files.train, testPath = files.test
            let file = SlicedFile(rows: rows, slices: slices) { slice, body in
                var left = limit ?? .max
                try Taobao.read(path: trainPath, slice: slice, maxRows: limit, options: reader) { chunk in
                    left -= chunk.count
                    return try body(chunk) && left > 0
                }
            }
            let (trainFile, heldOut, heldOutRows) = try holdOut(file, trainPath: trainPath, maxRows: limit, reader: reader, o)
            let validFiles = try taobaoValidFiles(o, reader: reader)
            let evalRows = 4096
            let test = EvalData { body in
                try Taobao.read(path: testPath, chunkRows: evalRows, maxRows: testLimit, options: reader) { try body($0); return true }
            }
            return LoadedData(kind: kind, source: FileBatchSource(trainFile, batchSize: o.batchSize, window: try shuffleWindow(o), seed: o.seed, loaderThreads: loaders),
                              test: test, trainRows: trainFile.rows, testRows: testRows, denseWidth: 0,
                              fieldRows: Taobao.schema.fieldRows, taskNames: Taobao.taskNames, fieldNames: Taobao.schema.fieldNames,
                              valid: heldOut ?? validFiles.valid, validRows: heldOut != nil ? heldOutRows : validFiles.rows)
        }
    }

    /// Runs the whole command; the returned summary has also been printed and written.
    @discardableResult
    public func run() throws -> TrainingSummary {
        do { try options.checkCombinations() } catch { throw UsageError(error.message) }
        if options.inferSchema { return try printInferredSchema() }
        for note in options.notYetNotices + options.ignoredNotices { printError(note) }
        if options.tableSizeArray != nil && options.dataDir == nil {
            throw UsageError("--table_size_array applies to Census-income sparse fields; the built-in synthetic data has none")
        }
        let kind = try resolveDataset()
        do { try options.checkDataFlags(for: kind) } catch { throw UsageError(error.message) }
        let o = try schemaResolved(forRank(options.resolved(for: kind)), kind)
        defer { if !isRoot { try? FileManager.default.removeItem(atPath: o.outputDir) } }
        if o.tableSizeArray != nil && kind == .taobao {
            throw UsageError("--table_size_array applies to Census-income; Taobao fields use DeepRec's hash bucket sizes")
        }
        if o.explicitFlags.contains("census_tasks") && kind != .census {
            throw UsageError("--census_tasks \(o.censusTasks.rawValue) applies to Census-income data; the \(kind.rawValue) data has its own tasks")
        }
        try checkOutputDirectories(o)
        try checkValidation(kind, o)
        Parallel.threads = o.intra > 0 ? o.intra : o.threads
        if o.usesEmbeddingStore && kind == .synthetic {
            throw UsageError("\(o.embeddingStoreFlag): the built-in synthetic data has no sparse fields to embed")
        }
        var data = try loadData(kind, o)
        guard data.testRows > 0 || o.noEval else { throw UsageError("the test split is empty; evaluation needs rows (or pass --no_eval)") }
        guard o.numTasks == data.taskNames.count else {
            throw UsageError("--num_tasks \(o.numTasks): the \(kind.rawValue) data has \(data.taskNames.count) tasks (\(data.taskNames.joined(separator: ", ")))")
        }
        let config = modelConfig(data, o, kind)
        try checkMemory(config, o)
        let model: MMoEModel
        let storeSettings = keySharded(o.embeddingStoreSettings(seed: o.seed), o)
        do { model = try MMoEModel(config, seed: o.seed, embeddingTable: storeSettings == nil) } catch { throw UsageError(error.description) }
        model.applyGateInit(o.gateInit)
        try checkTrainEval(data, o)
        model.fuseEmbeddingLookups = o.embFusion
        if o.gateReport && !model.hasGates {
            throw UsageError("--gate_report: --model \(o.model.rawValue) has no MMoE-style gate layer to report on (softmax gates over one shared set of experts: mmoe's, one per task, or omoe's one)")
        }
        if o.gateReport && data.testRows == 0 { throw UsageError("--gate_report measures the gates on the test set, which is empty") }
        if o.gateReport && storeSettings != nil {
            throw UsageError("--gate_report reads the gates with the model's own embedding table; it cannot be combined with an embedding store (\(o.embeddingStoreFlag)) yet")
        }
        // Where step checkpoints go, the checkpoint to resume from, and where the embedding rows
        // start (see TrainCommand+EmbeddingStore.swift).
        let checkpoints = (o.checkpoint ?? o.modelSaveDir).map { CheckpointDirectory(path: $0, keep: o.keepCheckpointMax) }
        var persistent: PersistentStore?
        var storage: (any RowStorage)?
        if let storeSettings {
            let width = RowLayout(dim: o.embeddingVecSize, stateWidth: RowOptimizer(kind: o.optimizer, dim: o.embeddingVecSize).stateWidth).width
            (storage, persistent) = try openRowStorage(o, settings: storeSettings, width: width, fieldRows: config.fieldRows, dataset: kind)
        }
        // The checkpoint directory is locked before it is read: another run's saves in progress are not resumed.
        let checkpointLock = try o.checkpoint.flatMap { isRoot ? $0 : nil }.map { try Self.lockDirectory($0, flag: "--checkpoint") }
        defer { checkpointLock?.release() }
        var resume: (path: String, step: Int, metadata: [String: String], rows: EmbeddingPersistence.SavedRows)?
        var rowStart = RowStart.created
        if o.checkpoint != nil, let checkpoints, let found = try resumableCheckpoint(checkpoints, persistent: persistent) {
            try checkResume(step: found.step, totalSteps: totalSteps(o, trainRows: data.trainRows), o, checkpoint: checkpoints.path)
            resume = found
            rowStart = try self.rowStart(loading: found.rows, from: found.path, step: found.step, hasStore: storeSettings != nil, persistent: persistent, o: o)
        } else if let dir = o.modelLoadDir {
            let metadata: [String: String]
            do { metadata = try ModelCheckpoint.metadata(in: dir) } catch { throw UsageError("--model_load_dir \(error)") }
            let rows: EmbeddingPersistence.SavedRows
            do { rows = try EmbeddingPersistence.savedRows(metadata, file: dir) } catch { throw UsageError(error.description) }
            rowStart = try self.rowStart(loading: rows, from: dir, step: nil, hasStore: storeSettings != nil, persistent: persistent, o: o)
            if case .committed = rowStart { rowStart = .committed(step: nil) }
        } else if let persistent, persistent.storage.generation > 0 {
            rowStart = .committed(step: nil)
        }
        let storeStart = DispatchTime.now().uptimeNanoseconds
        let persistence: EmbeddingPersistence? = try storeSettings.map { s in
            var s = s
            if case .created = rowStart {} else { s.createsInitialRows = false }
            do {
                let store = try EmbeddingStore(model: model, optimizer: o.optimizer, settings: s, filter: try o.admissionFilter(),
                                               makeStorage: { _ in storage! })
                return EmbeddingPersistence(store: store, persistent: persistent)
            } catch let error as EmbeddingStoreError { throw UsageError(error.description) }
        }
        let store = persistence?.store

        var settings = TrainerSettings()
        settings.batchSize = o.batchSize
        settings.trainBatches = totalSteps(o, trainRows: data.trainRows)
        settings.lossPrintInterval = o.lossPrintInterval
        settings.learningRate = o.learningRate
        settings.lrFactor = o.lrFactor
        settings.minLR = o.minLR
        settings.seed = o.seed
        settings.microBatches = o.microBatch
        settings.optimizer = o.optimizer
        settings.tapeOptions = TapeOptions(fuseEpilogues: o.opFusion, bfloat16: o.bf16)
        settings.timelineEvery = o.timeline ?? 0
        settings.l2 = o.l2Regularization
        settings.evaluate = !o.noEval
        settings.evaluateEachEpoch = kind != .taobao
        settings.saveSteps = o.saveSteps ?? 0
        settings.incrementalSaveSeconds = Double(o.incrementalCkpt)
        settings.batchShards = batchShards(o)
        settings.progressSeconds = 10
        settings.taskLoss = try taskLossSettings(data, o, types: config.resolvedTaskTypes)
        // --amp: bfloat16-rounded GEMM inputs (the --bf16 path) plus loss scaling; see LossScaler.
        if o.amp {
            settings.tapeOptions.bfloat16 = true
            settings.lossScalePolicy = o.lossScalePolicy
        }
        if try shareInput(data, o) && o.smartstaged { data.source = PrefetchingSource(data.source) }
        let trainer = Trainer(model: model, source: data.source, test: data.test, taskNames: data.taskNames, settings: settings,
                              embeddingStore: store)
        if let valid = data.valid { trainer.selectModel(on: valid, metric: o.earlyStoppingMetric, patience: o.earlyStoppingPatience) }
        trainer.communicator = communicator
        if let store, let communicator, shardsByKey(o) { trainer.shardedEmbedding = ShardedEmbedding(store: store, communicator: communicator) }

        var firstStep = 1
        if let dir = o.modelLoadDir {
            do { try ModelCheckpoint.load(into: model, from: dir) } catch { throw UsageError("\(error)") }
            print("Loaded model from \(dir)")
        } else if let latest = resume {
            do {
                let metadata = try ModelCheckpoint.load(into: model, from: latest.path)
                try OptimizerCheckpoint.load(into: trainer.optimizer, kind: o.optimizer, from: latest.path, lossScaler: trainer.lossScaler)
                // The dropout generator (the data order is replayed below).
                for note in try trainer.restore(checkpointMetadata: metadata) { printError(note) }
            } catch let error as TrainingError {
                throw UsageError("\(latest.path)/\(ModelCheckpoint.fileName): \(error)")
            } catch { throw UsageError("\(error)") }
            firstStep = latest.step + 1
            print("Resuming from \(latest.path) (step \(latest.step))")
            try trainer.skipBatches(latest.step * max(1, settings.microBatches))
        }
        var storeStartLine: String?
        if let persistence {
            do {
                switch rowStart {
                case .created:
                    // A new persistent store holds its first rows at once: a later run can resume
                    // from them, and cached_ssd's pending changes are bounded from the start.
                    if let records = try persistence.commit(step: firstStep - 1), let p = persistent {
                        let seconds = Double(DispatchTime.now().uptimeNanoseconds - storeStart) / 1e9
                        storeStartLine = "Embedding store: \(records) rows created and written to \(p.directory) (commit \(p.storage.generation)) in \(String(format: "%.2f", seconds)) s"
                    }
                case .snapshot(let dir):
                    try restoreSnapshot(persistence, from: dir, o)
                    storeStartLine = "Embedding store: \(persistence.store.storage.count) rows loaded from \(savedRowsPlace(dir))"
                    // Into a persistent store: committed at once, as fresh rows are.
                    if try persistence.commit(step: firstStep - 1) != nil, let p = persistent {
                        storeStartLine! += " and committed to \(p.directory) (commit \(p.storage.generation))"
                    }
                case .committed(let step):
                    try persistence.restoreCommitted()
                    if let step { persistence.resumed(atStep: step) }
                    storeStartLine = "Embedding store: \(persistence.store.storage.count) rows resumed from \(persistence.committedDescription)"
                }
            } catch let error as UsageError { throw error } catch { throw UsageError("\(error)") }
        }
        if let resume, let checkpoints, isRoot {
            // Checkpoints after the one resumed name store commits that never happened.
            for stale in checkpoints.removeCheckpoints(after: resume.step) {
                printError("note: removed \(stale): a checkpoint after the one resumed from (incomplete, or naming a store commit that never happened)")
            }
        }

        let outputDir = URL(fileURLWithPath: o.outputDir)
        if let resume, resume.step == settings.trainBatches,
           rootDecides(FileManager.default.fileExists(atPath: outputDir.appendingPathComponent("summary.json").path)) {
            print("mmoe-train: the run is already complete: the newest checkpoint in \(resume.path) is at step \(resume.step) of "
                  + "\(settings.trainBatches), and \(o.outputDir)/summary.json reports it; nothing to do (give more steps to train on)")
            return TrainingSummary(steps: 0, epochs: 0, trainSeconds: 0, trainSamples: 0, finalEvaluation: nil)
        }
        let prior = resume.map { priorTotals(in: $0.path, step: $0.step, o) } ?? (0, 0)

        // Every check has passed: from here on, outputs are written, into directories this run holds.
        let heldElsewhere = Set([o.checkpoint, o.embeddingStoreDirectory].compactMap { $0.map(Self.canonical) })
        let outputLocks = try outputDirectories(o).filter { !heldElsewhere.contains(Self.canonical($0.path)) }
            .map { try Self.lockDirectory($0.path, flag: $0.flag) }
        defer { outputLocks.forEach { $0.release() } }
        do { try FileManager.default.createDirectory(at: outputDir, withIntermediateDirectories: true) } catch {
            throw UsageError("--output_dir \(o.outputDir): cannot create the directory: \(error.localizedDescription)")
        }
        let metricsURL = outputDir.appendingPathComponent("metrics.jsonl")
        let metrics = try Self.openMetrics(metricsURL, resumedStep: resume?.step)
        defer { try? metrics.close() }
        func record(_ object: [String: Any]) throws { try Self.append(object, to: metrics, metricsURL) }
        /// The run's totals so far, saved with each checkpoint.
        func totals() -> (seconds: Double, samples: Int) { (prior.0 + trainer.trainedSeconds, prior.1 + trainer.trainedSamples) }
        try writeFlags(o, to: outputDir)
        let board = try tensorBoard(o, tasks: data.taskNames, fresh: firstStep == 1)

        var saveMetadata = ["dataset": kind.rawValue, "model": o.model.rawValue].merging(manifest(config, data, o).metadata) { a, _ in a }
        if kind == .census { saveMetadata["census_tasks"] = o.censusTasks.rawValue }
        /// A step whose gradients overflowed writes non-finite weights before the next step's logits
        /// show it; saving them would replace (and, with pruning, delete) the last good checkpoint.
        func checkFinite(_ what: String) throws {
            let finite = Kernels.allFinite(model.parameters.values) && (model.embedding.map { Kernels.allFinite($0.value) } ?? true)
            guard finite else {
                throw TrainingError(description: "the parameters became non-finite before \(what); nothing was saved, so the last good checkpoint stays; try a lower --learning_rate")
            }
        }
        /// What a save did with the embedding rows, for its log line.
        func rowsNote(_ written: Int?, since start: UInt64) -> String {
            guard let persistence else { return "" }
            let seconds = String(format: "%.2f", Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            guard let written, let p = persistence.persistent else {
                return persistence.persistent == nil ? " (embedding rows: a snapshot of \(persistence.store.storage.count); \(seconds) s)" : ""
            }
            return " (embedding rows: \(written) changed of \(persistence.store.storage.count) held, written to \(p.directory), commit \(p.storage.generation); \(seconds) s)"
        }
        /// A checkpoint at `step`: the dense files, and the store's rows as a snapshot or a commit of
        /// the persistent store (only the rows changed since its last commit).
        func saveCheckpoint(_ step: Int, _ what: String) throws {
            let start = DispatchTime.now().uptimeNanoseconds
            trainer.gatherOptimizerState()
            try savingAcrossRanks(trainer, into: checkpoints?.directory(step: step), committing: persistence.map { ($0, step) }) { ranks in
                guard let checkpoints else { return }
                try checkFinite("the \(what) of step \(step)")
                var written: Int?
                let path = try checkpoints.save(model, optimizer: trainer.optimizer, kind: o.optimizer, step: step,
                                                metadata: saveMetadata.merging(trainer.checkpointMetadata) { a, _ in a }, lossScaler: trainer.lossScaler,
                                                beforeModel: { dir in
                                                    try Self.saveTotals(totals(), in: dir)
                                                    return try persistence?.prepareSave(in: dir, step: step, snapshot: false, ranks: ranks) ?? [:]
                                                },
                                                afterModel: { written = try persistence?.commit(step: step) })
                print("Saved \(what) \(path)" + rowsNote(written, since: start))
            }
        }
        /// A model save (`--model_save_dir`) at `step`: it always holds its embedding rows (a
        /// snapshot), so it stands alone; the persistent store is committed too, except in a
        /// `--checkpoint` run, whose store follows its checkpoints.
        func save(_ name: String, step: Int) throws {
            let start = DispatchTime.now().uptimeNanoseconds
            try savingAcrossRanks(trainer, into: o.modelSaveDir.map { ($0 as NSString).appendingPathComponent(name) }) { ranks in
                guard let root = o.modelSaveDir else { return }
                try checkFinite("saving \(name)")
                let path = (root as NSString).appendingPathComponent(name)
                print("Saving model to \(path)")
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
                let rows = try persistence?.prepareSave(in: path, step: step, snapshot: true, ranks: ranks) ?? [:]
                try ModelCheckpoint.save(model, to: path, metadata: saveMetadata.merging(trainer.checkpointMetadata) { a, _ in a }.merging(rows) { _, b in b })
                if o.checkpoint == nil, let written = try persistence?.commit(step: step) { print("Committed the embedding store" + rowsNote(written, since: start)) }
            }
        }
        print(argumentsTable(o))
        print("Model: \(o.model.rawValue), \(Self.networkDescription(config))towers \(config.towerDNN), "
              + "\(config.numTasks) tasks, input \(config.inputWidth) (\(config.fieldCount) fields x \(config.embeddingDim) + \(config.denseWidth) dense), "
              + "\(model.parameterCount) parameters; data: \(kind.rawValue), \(data.trainRows) train / \(data.validRows > 0 ? "\(data.validRows) valid / " : "")\(data.testRows) test rows; "
              + "\(settings.trainBatches) steps of \(o.batchSize)\(settings.microBatches > 1 ? " x \(settings.microBatches) micro-batches" : ""); "
              + "optimizer \(o.optimizer.rawValue), lr \(o.learningRate), l2 \(o.l2Regularization); threads \(Parallel.threads)")
        if let scaler = trainer.lossScaler {
            print("Mixed precision (--amp): dense-layer GEMM inputs rounded to bfloat16, Float accumulation and master weights; "
                  + "loss scale \(scaler.policy.rawValue), starting at \(RunLog.lossScaleText(scaler.scale))"
                  + (scaler.policy == .dynamic ? " (halved and the step skipped on an overflow, doubled after \(scaler.growthInterval) clean steps)" : ""))
        }
        if let store { print(Self.storeDescription(store, o)) }
        if let storeStartLine { print(storeStartLine) }
        if rootDecides(o.saveInitialModel) { try save("initial_checkpoint", step: firstStep - 1) }

        let tasks = data.taskNames
        let progress = RunProgress(firstStep: firstStep, lastStep: settings.trainBatches)
        var selected: ModelSelectionReport?
        let summary = wholeRun(try trainer.run(from: firstStep) { event in
            switch event {
            case .step(let r):
                print(RunLog.stepLine(r, tasks: tasks) + progress.suffix(step: r.step))
                try record(RunLog.stepRecord(r, tasks: tasks))
                try board?.step(r)
            case .progress(let step):
                print(progress.line(step: step))
            case .evaluation(let r):
                print(RunLog.evalLine(r, tasks: tasks, hostMemoryMB: ProcessMemory.residentMB()))
                var evalRecord = RunLog.evalRecord(r, tasks: tasks)
                let statistics = storeStatistics(trainer)
                if let statistics {
                    print(statistics.line)
                    evalRecord["embedding_store"] = statistics.record
                }
                try record(evalRecord)
                try board?.evaluation(r, store: statistics?.record, gatesOf: store == nil ? model : nil, test: data.test, options: settings.tapeOptions)
                // With a validation set the evaluations to save after are the validation ones.
                if o.saveModelAfterEachEval && !(o.hasValidation && r.split == .test) {
                    // A regression task has no AUC: its test MSE names it instead.
                    let aucs = tasks.indices.map { t in
                        r.taskTypes[t] == .regression ? "\(tasks[t])_mse_\(String(format: "%.5f", r.loss[t]))" : "\(tasks[t])_\(String(format: "%.5f", r.auc[t]))"
                    }.joined(separator: "_")
                    try save("step_\(r.step)_val_auc_\(aucs)", step: r.step)
                }
            case .modelSelected(let s):
                selected = s
                print(Self.selectionLine(s))
            case .timeline(let step, let timeline):
                let url = outputDir.appendingPathComponent("timeline_step_\(step).json")
                try timeline.write(to: url)
                print("Wrote timeline \(url.path)")
            case .checkpointDue(let step):
                try saveCheckpoint(step, "checkpoint")
            case .incrementalSaveDue(let step):
                // --incremental_ckpt: a checkpoint whose rows are an increment, or (without
                // --checkpoint) a commit of the persistent store alone.
                if o.checkpoint != nil {
                    try saveCheckpoint(step, "incremental checkpoint")
                } else {
                    let start = DispatchTime.now().uptimeNanoseconds
                    if let written = try persistence?.commit(step: step) { print("Incremental save at step \(step)" + rowsNote(written, since: start)) }
                }
            }
        }, prior: prior, resumedStep: resume?.step ?? 0, rowsPerEpoch: data.source.rowsPerEpoch)
        if o.checkpoint != nil, let checkpoints, rootDecides(checkpoints.latest()?.step != settings.trainBatches) {
            try saveCheckpoint(settings.trainBatches, "checkpoint")
        }
        if o.hasValidation && selected == nil {
            print("Model selection: no validation evaluation had a defined \(o.earlyStoppingMetric), so the last weights were kept and scored on the test set")
        }
        if rootDecides(o.modelSaveDir != nil) { try save("final_checkpoint", step: summary.lastStep ?? settings.trainBatches) }
        // The persistent store holds the end of training (unless a save above already committed it).
        let endStart = DispatchTime.now().uptimeNanoseconds
        if let written = try persistence?.commit(step: settings.trainBatches) {
            print("Committed the embedding store at the end of training" + rowsNote(written, since: endStart))
        }
        let rss = ProcessMemory.peakResidentMB()
        var summaryRecord = RunLog.summaryRecord(summary, dataset: kind.rawValue, model: o.model.rawValue, tasks: tasks, peakRSSMB: rss)
        summaryRecord["task_rows"] = RunLog.taskRowsRecord(tasks: tasks, trained: trainer.trainedTaskRows, evaluation: summary.finalEvaluation)
        if let selected { summaryRecord["model_selection"] = Self.selectionRecord(selected) }
        if let trainEval = try finalTrainEvaluation(trainer, data, o) { summaryRecord["train_eval"] = trainEval }
        if let store, let statistics = storeStatistics(trainer) {
            summaryRecord["embedding_store"] = statistics.record.merging(["kind": store.kind.rawValue]) { a, _ in a }
            if o.noEval { print(statistics.line) }
        }
        let input = inputAccount(data.source)
        summaryRecord["distributed"] = distributedRecord(summary).merging(input.record) { a, _ in a }
        let summaryData = Data(RunLog.json(summaryRecord).utf8)
        do { try summaryData.write(to: outputDir.appendingPathComponent("summary.json"), options: .atomic) } catch {
            throw TrainingError(description: "\(outputDir.appendingPathComponent("summary.json").path): write failed: \(error.localizedDescription)")
        }
        if o.gateReport, let gates = try GateStatistics.measure(model, test: data.test, tasks: tasks, options: settings.tapeOptions) {
            for line in gates.summaryLines { print(line) }
            for warning in gates.warnings { printError(warning) }
            for path in try gates.write(to: o.outputDir, model: o.model.rawValue) { print("Wrote \(path)") }
        }
        let aucText = summary.finalEvaluation.map { e in
            let binary = tasks.indices.filter { e.taskTypes[$0] == .binary }, regression = tasks.indices.filter { e.taskTypes[$0] == .regression }
            let auc = binary.isEmpty ? nil : "test AUC " + binary.map { "\(tasks[$0]) \(RunLog.metricText(e.auc[$0], digits: 4))" }.joined(separator: ", ")
                + (binary.count > 1 ? " (pooled \(String(format: "%.4f", e.pooledAUC)))" : "")
            let mse = regression.isEmpty ? nil : "test MSE " + regression.map {
                "\(tasks[$0]) \(RunLog.metricText(e.loss[$0], digits: 4)) (RMSE \(RunLog.metricText(e.rootMeanSquaredError[$0], digits: 4)), MAE \(RunLog.metricText(e.meanAbsoluteError.isEmpty ? .nan : e.meanAbsoluteError[$0], digits: 4)))"
            }.joined(separator: ", ")
            return [auc, mse].compactMap { $0 }.joined(separator: "; ")
        } ?? "no evaluation (--no_eval)"
        let finalLine = "mmoe-train: \(kind.rawValue), \(summary.steps) steps (\(String(format: "%.2f", summary.epochs)) epochs) in "
              + "\(String(format: "%.1f", summary.trainSeconds)) s, \(summary.trainSeconds > 0 ? "\(Int(summary.samplesPerSecond.rounded()))" : "n/a") samples/s, "
              + "\(summary.trainSeconds > 0 ? String(format: "%.1f", summary.stepsPerSecond) : "n/a") global steps/s; "
              + (summary.lossScale.map { "loss scale \(RunLog.lossScaleText($0)), \(summary.skippedSteps) steps skipped for overflow; " } ?? "")
              + "\(aucText); "
              + "peak RSS \(rss.map { "\(Int($0.rounded())) MB" } ?? "n/a"); results in \(o.outputDir)"
        if let line = Self.taskRowsLine(settings.taskLoss, tasks: tasks, trainedRows: trainer.trainedTaskRows,
                                        trainSamples: summary.trainSamples, evaluation: summary.finalEvaluation) { print(line) }
        if let line = distributedLine(summary) { print(line) }
        if let line = input.line { print(line) }
        for line in nextSteps(o, kind: kind) { print(line) }
        print(finalLine)
        try board?.finish(summary: finalLine, step: settings.trainBatches)
        return summary
    }

    /// What every saved model carries so that `mmoe-predict` can rebuild it and encode rows as here.
    /// The network the flags describe for `data` of `kind`.
    func modelConfig(_ data: LoadedData, _ o: TrainOptions, _ kind: DatasetKind) -> MMoEConfig {
        var config = MMoEConfig(denseWidth: data.denseWidth, fieldRows: data.fieldRows, embeddingDim: o.embeddingVecSize,
                                numExperts: o.numExperts, numTasks: o.numTasks, expertDNN: o.expertDNN, gateDNN: o.gateDNN,
                                towerDNN: o.towerDNN, dropout: o.netDropout)
        if data.fieldNames.count == data.fieldRows.count { config.fieldNames = data.fieldNames }
        config.fieldCombiners = data.schema.flatMap(MMoEConfig.fieldCombiners(of:))
        config.kind = o.model
        config.taskTypes = o.taskTypes
        config.bottomDNN = o.bottomDNN
        config.taskExperts = o.taskExperts
        config.sharedExperts = o.sharedExperts
        config.pleLevels = o.pleLevels
        // DeepRec's network: ReLU dense stacks for experts (the Taobao default of --expert_relu_on_last), gates with a bias.
        config.expertReluOnLast = o.expertReluOnLast
        config.gateBias = kind == .taobao
        return config
    }

    func manifest(_ config: MMoEConfig, _ data: LoadedData, _ o: TrainOptions) -> CheckpointManifest {
        let encoding: CheckpointManifest.Encoding
        switch data.kind {
        case .census: encoding = data.censusEncoder.map { .census($0) } ?? .none
        case .taobao: encoding = .taobao(TaobaoOptions(clampPrice: o.clampPrice), bucketSizes: Taobao.bucketSizes)
        case .schema: encoding = data.schema.map { .schema($0) } ?? .none
        case .synthetic: encoding = .none
        }
        var manifest = CheckpointManifest(config: config, dataset: data.kind, taskNames: data.taskNames, encoding: encoding)
        manifest.bfloat16 = o.bf16 || o.amp
        return manifest
    }

    /// DeepRec's `--steps 0`: enough steps for 1000 epochs, ceil(1000 · rows / batch size).
    static func deepRecSteps(rows: Int, batchSize: Int) -> Int {
        (1000 * rows + batchSize - 1) / batchSize
    }

    /// The effective arguments, one per line, framed as OneFlow's script prints them.
    func argumentsTable(_ o: TrainOptions) -> String {
        var lines = ["------------------------ arguments ------------------------"]
        for (name, value) in argumentRows(o) { lines.append("  \(name) \(String(repeating: ".", count: max(1, 48 - name.count))) \(value)") }
        lines.append("-------------------- end of arguments ---------------------")
        return lines.joined(separator: "\n")
    }

    /// The effective arguments as (name, value) pairs, sorted by name (the table above, the
    /// TensorBoard text summary and flags.json).
    func argumentRows(_ o: TrainOptions) -> [(String, String)] {
        func list(_ l: [Int]) -> String { "[" + l.map(String.init).joined(separator: ", ") + "]" }
        var rows: [(String, String)] = [
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
            ("steps", o.steps.map(String.init) ?? "None"), ("no_eval", "\(o.noEval)"), ("checkpoint", o.checkpoint ?? "None"),
            ("save_steps", o.saveSteps.map(String.init) ?? "None"), ("keep_checkpoint_max", "\(o.keepCheckpointMax)"),
            ("timeline", o.timeline.map(String.init) ?? "None"), ("l2_regularization", "\(o.l2Regularization)"),
            ("optimizer", o.optimizer.rawValue), ("inter", "\(o.inter)"), ("intra", "\(o.intra)"), ("bf16", "\(o.bf16)"),
            ("emb_fusion", "\(o.embFusion)"), ("op_fusion", "\(o.opFusion)"), ("smartstaged", "\(o.smartstaged)"),
            ("micro_batch", "\(o.microBatch)"), ("amp", "\(o.amp)"), ("loss_scale_policy", o.lossScalePolicy.rawValue), ("tf", "\(o.tf)"), ("workqueue", "\(o.workqueue)"), ("model", o.model.rawValue),
            ("task_types", o.taskTypes.isEmpty ? "all binary" : "[" + o.taskTypes.map(\.rawValue).joined(separator: ", ") + "]"),
            ("bottom_dnn", o.bottomDNN.map(list) ?? "expert_dnn"), ("task_experts", "\(o.taskExperts)"),
            ("shared_experts", "\(o.sharedExperts)"), ("ple_levels", "\(o.pleLevels)"), ("synthetic_dim", "\(o.syntheticDim)"),
            ("synthetic_scale", "\(o.syntheticScale)"), ("synthetic_sin_terms", "\(o.syntheticSinTerms)"),
            ("synthetic_alpha_beta_std", "\(o.syntheticAlphaBetaStd)"), ("synthetic_noise", "\(o.syntheticNoise)"),
            ("census_tasks", o.censusTasks.rawValue), ("parquet_stream", o.parquetStream.rawValue), ("shuffle_window", "\(o.shuffleWindow)"),
            ("gate_report", "\(o.gateReport)"), ("expert_relu_on_last", "\(o.expertReluOnLast)"),
            ("ev", "\(o.ev)"), ("ev_filter", o.evFilter.rawValue), ("ev_elimination", o.evElimination.rawValue),
            ("adaptive_emb", "\(o.adaptiveEmb)"), ("multihash", "\(o.multihash)"), ("tensorboard", "\(o.tensorboard)"),
        ]
        rows.sort { $0.0 < $1.0 }
        return rows
    }
}
