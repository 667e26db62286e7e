import Foundation
import Tensor
import Datasets

/// Your own data (`--schema FILE`): resolving the files, fitting the schema on the training files,
/// and loading the test and validation files, behind the same `LoadedData` as the built-in data.
/// Training data up to `schemaMemoryBytes` is kept in memory (shuffled whole, as Census is);
/// larger data streams from its files in slices (`FileBatchSource`), in bounded memory.
extension TrainCommand {
    /// Training files up to this size (a `.gz` counted 5 times) are held in memory by default.
    public static let schemaMemoryLimit = 256 << 20

    /// `.schema` when `--schema` is given (checking the flags that go with it); nil otherwise, after
    /// refusing the file flags that need it.
    func resolveSchemaDataset() throws(UsageError) -> DatasetKind? {
        let o = options
        guard o.schema != nil else {
            for flag in ["train_files", "test_files"] where o.explicitFlags.contains(flag) {
                throw UsageError("--\(flag) names files of your own data, which needs --schema FILE "
                                 + "(mmoe-train --infer_schema --train_files FILE prints one to start from)")
            }
            if o.dataset == .schema { throw UsageError("--dataset schema needs --schema FILE, the JSON schema of your files") }
            return nil
        }
        if let kind = o.dataset, kind != .schema {
            throw UsageError("--schema describes your own files; it cannot be combined with --dataset \(kind.rawValue)")
        }
        guard o.trainFiles != nil || o.dataDir != nil else {
            throw UsageError("--schema needs the files it describes: --data_dir DIR (holding train.csv and test.csv, or train/ and test/ folders) "
                             + "or --train_files and --test_files")
        }
        if let dir = o.dataDir {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw UsageError("\(o.dataDirFlag) \(dir): no such directory")
            }
        }
        return .schema
    }

    /// The schema file, read and checked.
    func loadSchema(_ o: TrainOptions) throws(UsageError) -> DataSchema {
        do { return try DataSchema(contentsOf: o.schema!) } catch { throw UsageError("--schema \(error.description)") }
    }

    /// `o` with the schema's tasks: their count (`--num_tasks`) and types (`--task_types`), unless
    /// the flags were given, when they must agree with the schema. Other data: `o` unchanged.
    func schemaResolved(_ o: TrainOptions, _ kind: DatasetKind) throws -> TrainOptions {
        guard kind == .schema else { return o }
        let schema = try loadSchema(o)
        var o = o
        if o.tableSizeArray != nil {
            throw UsageError("--table_size_array applies to Census-income; --schema data sizes each field with its \"buckets\"")
        }
        let types = schema.tasks.map { $0.type == .binary ? TaskType.binary : TaskType.regression }
        if o.explicitFlags.contains("num_tasks"), o.numTasks != types.count {
            throw UsageError("--num_tasks \(o.numTasks): the schema \(o.schema!) declares \(types.count) tasks (\(schema.taskNames.joined(separator: ", ")))")
        }
        if o.explicitFlags.contains("task_types"), !o.taskTypes.isEmpty, o.taskTypes != types {
            throw UsageError("--task_types \(o.taskTypes.map(\.rawValue).joined(separator: ",")): the schema \(o.schema!) declares "
                             + types.map(\.rawValue).joined(separator: ",") + "; drop --task_types (the schema's types are used) or edit the schema")
        }
        o.numTasks = types.count
        o.taskTypes = types
        return o
    }

    /// The training, test and validation files: `--train_files`/`--test_files`, or `train.*` and
    /// `test.*` (files or folders) in the data directory; `--valid_files` when given.
    func schemaFiles(_ o: TrainOptions) throws(UsageError) -> (train: [String], test: [String], valid: [String]) {
        func files(_ list: String?, _ flag: String, _ split: String) throws(UsageError) -> [String] {
            do {
                if let list { return try SchemaFiles.expand(list, flag: "--\(flag)") }
                guard let dir = o.dataDir else { return [] }
                return try SchemaFiles.split(split, in: dir)
            } catch { throw UsageError(error.description) }
        }
        let train = try files(o.trainFiles, "train_files", "train")
        guard !train.isEmpty else {
            throw UsageError("\(o.dataDirFlag) \(o.dataDir ?? ""): no training data (train.csv, .tsv or .txt, optionally .gz, or train.parquet, or a train/ folder of them); or pass --train_files")
        }
        let test = try files(o.testFiles, "test_files", "test")
        guard !test.isEmpty || o.noEval else {
            throw UsageError("no test data: pass --test_files, put test.csv (or a test/ folder) in \(o.dataDirFlag), or pass --no_eval")
        }
        // Validation files only when asked for (--valid_files), so the checks that go with a
        // validation set (--no_eval, --checkpoint, stores) always see it.
        let valid = o.validFiles.isEmpty ? [] : try files(o.validFiles.joined(separator: ","), "valid_files", "valid")
        return (train, test, valid)
    }

    /// Fits the schema on the training files and opens the data: in memory when small (or when
    /// `--num_train_samples` limits it), else streamed in slices (text) or row groups (Parquet).
    func loadSchemaData(_ o: TrainOptions) throws -> LoadedData {
        let schema = try loadSchema(o)
        let files = try schemaFiles(o)
        let keepKeys = o.usesDynamicRows
        let parquet: Bool
        do { parquet = try SchemaFiles.areParquet(files.train, flag: o.trainFiles != nil ? "--train_files" : o.dataDirFlag) } catch {
            throw UsageError(error.description)
        }
        let bytes = files.train.reduce(0) { total, path in total + Self.schemaFileBytes(path) }
        let inMemory = bytes <= schemaMemoryBytes || o.numTrainSamples != nil
        let scan = parquet ? try schemaParquetTraining(schema, files.train, inMemory: inMemory, keepKeys: keepKeys, o)
            : try schemaTextTraining(schema, files.train, inMemory: inMemory, keepKeys: keepKeys, o)
        guard scan.rows > 0 else { throw UsageError("\(files.train.joined(separator: ", ")): no rows to train on") }
        let fitted = scan.schema
        let reader = SchemaReader(schema: fitted, keepKeys: keepKeys)
        let test = o.noEval ? (data: EvalData { _ in }, rows: 0) : try Self.schemaEvalData(files.test, reader, maxRows: o.numTestSamples, memoryBytes: schemaMemoryBytes)
        let validation = try loadValidation(files.valid, schema: fitted, keepKeys: keepKeys)
        let source: BatchSource
        var heldOut: TabularData? = nil, trainTable: TabularData? = nil, trainRows = scan.rows
        var streamedOut: (data: EvalData, rows: Int)? = nil
        if let data = scan.data {
            let split = try holdOut(data, o)
            (heldOut, trainTable, trainRows) = (split.valid, split.train, split.train.count)
            source = MemoryBatchSource(split.train, batchSize: o.batchSize, seed: o.seed)
        } else {
            var stream = scan.stream!
            if let f = o.validFraction {
                // The rows the in-memory split would hold out, skipped as the pieces stream.
                let split = try stream.holdingOut(ValidationSplit(fraction: Double(f), seed: o.seed))
                try Self.checkSplit(kept: split.kept, heldOut: split.heldOut, fraction: f)
                stream = split.train
                streamedOut = (split.valid, split.heldOut)
                trainRows = split.kept
            }
            source = FileBatchSource(stream, batchSize: o.batchSize, window: scan.window, seed: o.seed,
                                     loaderThreads: o.workqueue ? max(2, Parallel.threads) : 1)
        }
        let dense = fitted.denseFeatures.count, fields = fitted.fieldFeatures.count
        print("Data (--schema \(o.schema!)): \(scan.rows) training rows in \(files.train.count) \(parquet ? "Parquet " : "")file\(files.train.count == 1 ? "" : "s") "
              + (inMemory ? "(in memory)" : "(streamed in \(scan.pieces))")
              + ", \(test.rows) test rows; \(dense) dense, \(fields) embedding field\(fields == 1 ? "" : "s") (\(fitted.featureSchema.totalRows) rows); tasks "
              + fitted.tasks.map { "\($0.name) (\($0.type.rawValue)\($0.weight != 1 ? ", weight \($0.weight)" : "")\($0.condition.map { ", on \($0) = 1" } ?? ""))" }.joined(separator: ", "))
        let names = fitted.taskNames
        let taskLoss = TaskLossSettings(weights: fitted.tasks.map { Float($0.weight) },
                                        conditions: fitted.tasks.map { task in task.condition.flatMap { names.firstIndex(of: $0) } })
        return LoadedData(kind: .schema, source: source, test: test.data, trainRows: trainRows, testRows: test.rows, denseWidth: dense,
                          fieldRows: fitted.featureSchema.fieldRows, taskNames: names, fieldNames: fitted.featureSchema.fieldNames,
                          valid: heldOut.map { .memory($0) } ?? streamedOut?.data ?? validation?.data,
                          validRows: heldOut?.count ?? streamedOut?.rows ?? validation?.rows ?? 0,
                          taskLoss: taskLoss, trainTable: trainTable, schema: fitted)
    }

    /// The training files scanned: the fitted schema, the rows, and either the rows themselves
    /// (`data`, in memory) or the pieces to stream (`stream`, with its shuffle window).
    struct SchemaTraining {
        let schema: DataSchema
        let rows: Int
        let data: TabularData?
        let stream: SlicedFile?
        var window = 1 << 17
        /// What the pieces are, for the log: "12 slices", "4 row groups".
        let pieces: String
    }

    /// Text training files: `SchemaScan`, and when streamed, the files' slices in file order.
    func schemaTextTraining(_ schema: DataSchema, _ paths: [String], inMemory: Bool, keepKeys: Bool, _ o: TrainOptions) throws -> SchemaTraining {
        let bytes = paths.reduce(0) { $0 + Self.schemaFileBytes($1) }
        let scan = try SchemaScan(schema: schema, paths: paths, keepRows: inMemory, keepKeys: keepKeys, sliceBytes: schemaSliceBytes(bytes),
                                  maxRows: o.numTrainSamples)
        let pieces = "\(scan.files.reduce(0) { $0 + $1.slices.count }) slices"
        guard scan.data == nil else { return SchemaTraining(schema: scan.schema, rows: scan.rows, data: scan.data, stream: nil, pieces: pieces) }
        let reader = SchemaReader(schema: scan.schema, keepKeys: keepKeys)
        // One run of byte offsets over all files: slice i of file f starts at bases[f] plus its offset.
        var bases: [Int] = [], slices: [FileSlice] = [], base = 0
        for file in scan.files {
            bases.append(base)
            slices += file.slices.map { FileSlice(bytes: base + $0.bytes.lowerBound ..< base + $0.bytes.upperBound, firstLine: $0.firstLine) }
            base += (file.slices.last?.bytes.upperBound ?? 0) + 1
        }
        let scanned = scan.files, starts = bases
        let sliced = SlicedFile(rows: scan.rows, slices: slices) { slice, body in
            let f = starts.lastIndex { $0 <= slice.bytes.lowerBound }!
            let local = FileSlice(bytes: slice.bytes.lowerBound - starts[f] ..< slice.bytes.upperBound - starts[f], firstLine: slice.firstLine)
            try reader.read(path: scanned[f].path, slice: local, layout: scanned[f].layout, body)
        }
        return SchemaTraining(schema: scan.schema, rows: scan.rows, data: nil, stream: sliced, pieces: pieces)
    }

    /// The `--valid_files` rows (or `valid.*` in the data directory; text or Parquet) read with the fitted schema,
    /// for early stopping; nil when there are none. Every record is read once here, so a bad line
    /// stops the run before training.
    func loadValidation(_ files: [String], schema: DataSchema, keepKeys: Bool) throws -> (data: EvalData, rows: Int)? {
        guard !files.isEmpty else { return nil }
        return try Self.schemaEvalData(files, SchemaReader(schema: schema, keepKeys: keepKeys), maxRows: nil, memoryBytes: schemaMemoryBytes)
    }

    /// Rows to evaluate on: read once now (checking every record), held in memory when small,
    /// otherwise read again in chunks at each evaluation.
    static func schemaEvalData(_ files: [String], _ reader: SchemaReader, maxRows: Int?, memoryBytes: Int) throws -> (data: EvalData, rows: Int) {
        let small = files.reduce(0) { $0 + schemaFileBytes($1) } <= memoryBytes
        var parts: [TabularData] = [], rows = 0
        func each(_ body: (TabularData) throws -> Void) throws {
            var left = maxRows ?? .max
            for path in files where left > 0 {
                let each = { (chunk: TabularData) throws -> Bool in
                    left -= chunk.count
                    try body(chunk)
                    return left > 0
                }
                if SchemaFiles.isParquet(path) {
                    try SchemaParquetReader(schema: reader.schema, keepKeys: reader.keepKeys).read(paths: [path], chunkRows: 4096, maxRows: left, each)
                } else {
                    try reader.read(.file(path), chunkRows: 4096, maxRows: left, each)
                }
            }
        }
        try each { chunk in
            rows += chunk.count
            if small { parts.append(chunk) }
        }
        if small, let all = TabularData.concatenating(parts) { return (.memory(all), rows) }
        return (EvalData { body in try each(body) }, rows)
    }

    /// The size of a file as read: a `.gz` or Parquet file counted as 5 times its size.
    static func schemaFileBytes(_ path: String) -> Int {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        return path.hasSuffix(".gz") || SchemaFiles.isParquet(path) ? 5 * size : size
    }

    /// `--infer_schema`: prints the schema guessed from the first `--train_files` file.
    func printInferredSchema() throws -> TrainingSummary {
        guard let list = options.trainFiles else {
            throw UsageError("--infer_schema guesses a schema from a file: give it with --train_files FILE")
        }
        let path: String
        do { path = try SchemaFiles.expand(list, flag: "--train_files")[0] } catch { throw UsageError(error.description) }
        let schema = try SchemaInference.infer(path: path)
        print(schema.json)
        printError("note: a starting point guessed from the \(SchemaFiles.isParquet(path) ? "column types" : "header") and first rows of \(path): check each feature's kind, transform and buckets, "
                   + "and the tasks, then train with --schema FILE")
        return TrainingSummary(steps: 0, epochs: 0, trainSeconds: 0, trainSamples: 0, finalEvaluation: nil)
    }
}
