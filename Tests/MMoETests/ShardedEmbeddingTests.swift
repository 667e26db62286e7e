import XCTest
import Foundation
import Tensor
import Datasets
@testable import MMoE

/// An embedding store sharded by key (`--embedding_sharding key`, `ShardedEmbedding`), run in one
/// process on N ranks of threads (`LoopbackCommunicator`): the same bits as one process with the
/// same row shards (every step's logits, the dense weights, every stored row with its optimizer
/// state and bookkeeping, the store's counters, evaluation), and every key held by its owner only.
final class ShardedEmbeddingTests: XCTestCase {
    /// 600 rows, 3 dense inputs, 3 fields over 400 raw values each (hashed into fewer buckets), 2 tasks.
    static func data(rows: Int = 600, seed: UInt64 = 5) -> TabularData {
        var rng = SeededRNG(seed: seed)
        let fieldRows = [13, 11, 7], offsets = [0, 13, 24]
        var dense: [Float] = [], ids: [Int32] = [], keys: [UInt64] = [], labels: [Float] = []
        for _ in 0..<rows {
            var x: [Float] = []
            for _ in 0..<3 { x.append(rng.nextNormal()) }
            dense += x
            var score: Float = x[0]
            for f in 0..<3 {
                // Skewed: low values are frequent, so some keys pass the admission filter and others do not.
                let u = Float(rng.next() % 10_000) / 10_000
                let value = UInt64(u * u * 400)
                let key = FieldHash.key(field: f, value: "v\(value)")
                keys.append(key)
                ids.append(Int32(offsets[f] + Int(key % UInt64(fieldRows[f]))))
                score += value % 3 == 0 ? 0.8 : -0.3
            }
            labels += [score > 0 ? 1 : 0, x[1] + score > 0.5 ? 1 : 0]
        }
        return TabularData(count: rows, denseWidth: 3, dense: dense, fieldCount: 3, ids: ids, taskNames: ["a", "b"], labels: labels, keys: keys)
    }

    static let config = MMoEConfig(denseWidth: 3, fieldRows: [13, 11, 7], embeddingDim: 4, numExperts: 2, numTasks: 2,
                                   expertDNN: [8], towerDNN: [4], dropout: 0.1)

    /// What a run leaves: each step's logits, the dense weights, the stored records by key, the
    /// counters and the test logits.
    struct Outcome {
        var logits: [[UInt32]] = []
        var weights: [UInt32] = []
        /// The dense optimizer state a checkpoint saves (gathered from the ranks' blocks).
        var denseState: [UInt32] = []
        var rows: [UInt64: [UInt32]] = [:]
        var statistics: (rows: Int, admissions: Int, evictions: Int, zeroLookups: Int) = (0, 0, 0, 0)
        var test: [[UInt32]] = []
        var bytesSent = 0
        /// The store's arrays (what a save holds besides the rows), and (sharded, with a directory
        /// to save into) what every rank's shard write gave.
        var arrays: [String: [UInt64]] = [:]
        var written: [ShardFiles.Written] = []
    }

    /// Trains `steps` steps on `shards` row shards, on `communicator`'s rank (nil: one process),
    /// with the store sharded by key when `sharded`.
    static func train(_ kind: EmbeddingStoreKind, optimizer: OptimizerKind, shards: Int, steps: Int,
                      communicator: (any Communicator)?, sharded: Bool, saveTo: String? = nil) throws -> Outcome {
        let model = try MMoEModel(config, seed: 3, embeddingTable: false)
        var s = EmbeddingStoreSettings(kind: kind, seed: 9, eviction: kind == .dynamic ? .globalSteps(3) : nil, evictionInterval: 2)
        if sharded, let c = communicator { s.keyShard = KeyShard(rank: c.rank, count: c.size) }
        let store = try EmbeddingStore(model: model, optimizer: optimizer, settings: s, filter: kind == .dynamic ? CounterFilter(threshold: 2) : nil,
                                       makeStorage: { MemoryRowStorage(width: $0) })
        var settings = TrainerSettings()
        settings.batchSize = 128
        settings.trainBatches = steps
        settings.batchShards = shards
        settings.optimizer = optimizer
        settings.learningRate = 0.02
        settings.seed = 11
        let all = data()
        let trainer = Trainer(model: model, train: all.gathering(0..<500), test: all.gathering(500..<600), settings: settings, embeddingStore: store)
        trainer.communicator = communicator
        if sharded, let c = communicator { trainer.shardedEmbedding = ShardedEmbedding(store: store, communicator: c) }
        var out = Outcome()
        for _ in 0..<steps {
            let logits = try trainer.train([try trainer.source.next()])
            out.logits.append(logits[0].scalars.map(\.bitPattern))
        }
        out.weights = model.parameters.values.scalars.map(\.bitPattern)
        trainer.gatherOptimizerState()
        out.denseState = trainer.optimizer.stateTensors().filter { $0.tensor.shape == [model.parameters.count] }
            .flatMap { $0.tensor.scalars.map(\.bitPattern) }
        try store.storage.scan(chunk: 64) { keys, records in
            for (i, key) in keys.enumerated() {
                out.rows[key] = records[(i * store.layout.width)..<((i + 1) * store.layout.width)].map(\.bitPattern)
            }
        }
        let stats = trainer.shardedEmbedding?.statistics() ?? store.statistics
        out.statistics = (stats.rows, stats.admissions, stats.evictions, stats.zeroLookups)
        out.test = try trainer.predictShared(all.gathering(500..<600)).map { $0.map(\.bitPattern) }
        out.bytesSent = communicator?.bytesSent ?? 0
        out.arrays = store.checkpointState()
        if let sharded = trainer.shardedEmbedding, let saveTo { out.written = sharded.writeShards(in: saveTo) }
        return out
    }

    /// One process, then N ranks sharded by key (and replicated), compared bit for bit.
    func check(_ kind: EmbeddingStoreKind, optimizer: OptimizerKind, ranks: Int, steps: Int = 6) throws {
        let threads = Parallel.threads
        Parallel.threads = 1
        defer { Parallel.threads = threads }
        let single = try Self.train(kind, optimizer: optimizer, shards: ranks, steps: steps, communicator: nil, sharded: false)
        XCTAssertFalse(single.rows.isEmpty)
        let runs = try LoopbackCommunicator.run(ranks: ranks) { c in
            try Self.train(kind, optimizer: optimizer, shards: ranks, steps: steps, communicator: c, sharded: true)
        }
        var union: [UInt64: [UInt32]] = [:]
        for (r, run) in runs.enumerated() {
            XCTAssertEqual(run.logits, single.logits, "\(kind) rank \(r) of \(ranks): step logits")
            XCTAssertEqual(run.weights, single.weights, "\(kind) rank \(r) of \(ranks): dense weights")
            XCTAssertFalse(single.denseState.isEmpty)
            XCTAssertEqual(run.denseState, single.denseState, "\(kind) rank \(r) of \(ranks): dense optimizer state")
            XCTAssertEqual(run.test, single.test, "\(kind) rank \(r) of \(ranks): evaluation logits")
            XCTAssertEqual(run.statistics.rows, single.statistics.rows, "\(kind) rank \(r): rows held, summed over the ranks")
            XCTAssertEqual(run.statistics.admissions, single.statistics.admissions)
            XCTAssertEqual(run.statistics.evictions, single.statistics.evictions)
            XCTAssertEqual(run.statistics.zeroLookups, single.statistics.zeroLookups)
            let shard = KeyShard(rank: r, count: ranks)
            XCTAssertTrue(run.rows.keys.allSatisfy(shard.owns), "\(kind) rank \(r) holds a key another rank owns")
            XCTAssertLessThan(run.rows.count, single.rows.count, "rank \(r) holds a share of the table, not all of it")
            union.merge(run.rows) { a, _ in a }
        }
        XCTAssertEqual(union.count, runs.reduce(0) { $0 + $1.rows.count }, "a key is held by two ranks")
        XCTAssertEqual(union, single.rows, "\(kind) on \(ranks) ranks: the stored rows (values, optimizer state, bookkeeping) after training")
        // The replicated layout gives the same rows on every rank.
        let replicated = try LoopbackCommunicator.run(ranks: ranks) { c in
            try Self.train(kind, optimizer: optimizer, shards: ranks, steps: steps, communicator: c, sharded: false)
        }
        for run in replicated {
            XCTAssertEqual(run.rows, single.rows)
            XCTAssertEqual(run.logits, single.logits)
            XCTAssertEqual(run.denseState, single.denseState)
        }
    }

    func testDynamicRowsShardedOverTwoRanksMatchOneProcess() throws {
        try check(.dynamic, optimizer: .adam, ranks: 2)
    }

    func testDynamicRowsShardedOverFourRanksMatchOneProcess() throws {
        // The last batch of the epoch (116 rows) is below 4 x 32 rows: computed whole on every rank.
        try check(.dynamic, optimizer: .adamasync, ranks: 4)
    }

    func testHashedTableShardedMatchesOneProcess() throws {
        try check(.fixed, optimizer: .adagrad, ranks: 2)
    }

    func testMultihashShardedMatchesOneProcess() throws {
        try check(.multihash, optimizer: .adam, ranks: 4)
    }

    static func rows(_ storage: any RowStorage) throws -> [UInt64: [UInt32]] {
        var rows: [UInt64: [UInt32]] = [:]
        try storage.scan(chunk: 64) { keys, records in
            let w = storage.width
            for (i, key) in keys.enumerated() { rows[key] = records[(i * w)..<((i + 1) * w)].map(\.bitPattern) }
        }
        return rows
    }

    /// A save of a sharded table: each rank writes its shard file (its keys only, its store's
    /// arrays), every rank learns every file's checksum; the files load on the same rank count
    /// (each its own), on another (re-hashed: each keeps the keys it owns, the counters summed onto
    /// rank 0) and into one whole table, which then holds exactly what one process's store holds.
    func testShardFilesLoadOnAnyRankCount() throws {
        let threads = Parallel.threads
        Parallel.threads = 1
        defer { Parallel.threads = threads }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sharded-save-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let single = try Self.train(.dynamic, optimizer: .adam, shards: 2, steps: 4, communicator: nil, sharded: false)
        let runs = try LoopbackCommunicator.run(ranks: 2) { c in
            try Self.train(.dynamic, optimizer: .adam, shards: 2, steps: 4, communicator: c, sharded: true, saveTo: dir)
        }
        XCTAssertEqual(runs[0].written, runs[1].written, "every rank learns every shard's outcome")
        XCTAssertTrue(runs[0].written.allSatisfy { $0.failure == nil }, "\(runs[0].written)")
        XCTAssertEqual(runs[0].written.map(\.rows), runs.map(\.rows.count))
        XCTAssertFalse((single.arrays["counter.keys"] ?? []).isEmpty, "some keys are still being counted")
        let checksums = runs[0].written.map(\.checksum)

        func emptyStore(_ shard: KeyShard?) throws -> EmbeddingStore {
            let model = try MMoEModel(Self.config, seed: 3, embeddingTable: false)
            var s = EmbeddingStoreSettings(kind: .dynamic, seed: 9)
            s.keyShard = shard
            return try EmbeddingStore(model: model, optimizer: .adam, settings: s, filter: CounterFilter(threshold: 2),
                                      makeStorage: { MemoryRowStorage(width: $0) })
        }
        func load(_ shard: KeyShard?) throws -> ([UInt64: [UInt32]], [String: [UInt64]]) {
            let store = try emptyStore(shard)
            try ShardFiles.load(into: store, from: dir, count: 2, checksums: checksums, shard: shard)
            return (try Self.rows(store.storage), store.checkpointState())
        }
        let whole = try load(nil)
        XCTAssertEqual(whole.0, single.rows)
        XCTAssertEqual(whole.1, single.arrays, "the filter's counts, the counters and the powers of one process's store")
        // An older save, the shards merged into one snapshot, re-hashed over 4 ranks (streamed).
        let merged = dir + "/merged"
        try FileManager.default.createDirectory(atPath: merged, withIntermediateDirectories: true)
        let wholeStore = try emptyStore(nil)
        try ShardFiles.load(into: wholeStore, from: dir, count: 2, checksums: checksums, shard: nil)
        try RowSnapshot.save(wholeStore.storage, arrays: wholeStore.checkpointState(), to: merged + "/" + EmbeddingPersistence.snapshotFile)
        var fromSnapshot: [UInt64: [UInt32]] = [:], snapshotCounters: [UInt64] = [0, 0, 0]
        for r in 0..<4 {
            let store = try emptyStore(KeyShard(rank: r, count: 4))
            try EmbeddingPersistence(store: store, persistent: nil).restoreSnapshot(from: merged, shard: KeyShard(rank: r, count: 4))
            let rows = try Self.rows(store.storage)
            XCTAssertTrue(rows.keys.allSatisfy(KeyShard(rank: r, count: 4).owns))
            fromSnapshot.merge(rows) { a, _ in a }
            for j in 0..<3 { snapshotCounters[j] += store.checkpointState()["store.counters"]![j] }
        }
        XCTAssertEqual(fromSnapshot, single.rows)
        XCTAssertEqual(snapshotCounters, single.arrays["store.counters"])
        for r in 0..<2 {
            let own = try load(KeyShard(rank: r, count: 2))
            XCTAssertEqual(own.0, runs[r].rows, "rank \(r) of 2 loads its own shard")
            XCTAssertEqual(own.1, runs[r].arrays)
        }
        var union: [UInt64: [UInt32]] = [:], counted: [UInt64] = [], counters: [UInt64] = [0, 0, 0]
        for r in 0..<4 {
            let (rows, arrays) = try load(KeyShard(rank: r, count: 4))
            XCTAssertTrue(rows.keys.allSatisfy(KeyShard(rank: r, count: 4).owns))
            XCTAssertTrue((arrays["counter.keys"] ?? []).allSatisfy(KeyShard(rank: r, count: 4).owns))
            union.merge(rows) { a, _ in a }
            counted += arrays["counter.keys"] ?? []
            for j in 0..<3 { counters[j] += arrays["store.counters"]![j] }
        }
        XCTAssertEqual(union, single.rows)
        XCTAssertEqual(counted.sorted(), single.arrays["counter.keys"])
        XCTAssertEqual(counters, single.arrays["store.counters"])
        // A file that is not the one the save completed with.
        XCTAssertThrowsError(try ShardFiles.load(into: try EmbeddingStore(model: try MMoEModel(Self.config, seed: 3, embeddingTable: false), optimizer: .adam,
                                                                          settings: EmbeddingStoreSettings(kind: .dynamic, seed: 9), filter: CounterFilter(threshold: 2),
                                                                          makeStorage: { MemoryRowStorage(width: $0) }),
                                                 from: dir, count: 2, checksums: [checksums[0], checksums[1] ^ 1], shard: nil)) {
            XCTAssertTrue("\($0)".contains("checksum"), "\($0)")
        }
    }

    /// As rank 0 of 2: what a table sharded by key cannot do yet is refused with the flag named,
    /// and a persistent store goes to `<path>/<rank>-<N>`.
    func testCommandRefusesWhatKeyShardingCannotDo() throws {
        var command = TrainCommand(options: try TrainOptions.parse([]), print: { _ in }, printError: { _ in })
        command.communicator = LoopbackCommunicator(rank: 0, hub: LoopbackCommunicator.Hub(size: 2))
        func refusal(_ flags: [String]) throws -> String? {
            do { _ = try command.forRank(TrainOptions.parse(flags + ["--embedding_sharding", "key"])) } catch let e as UsageError { return e.description }
            return nil
        }
        XCTAssertTrue(try refusal([])?.contains("model's own hashed table") == true)
        XCTAssertTrue(try refusal(["--ev", "True", "--amp", "True"])?.contains("--amp") == true)
        XCTAssertNil(try refusal(["--ev", "True", "--ev_filter", "cbf", "--model_save_dir", "/tmp/x"]), "each rank saves its own filter")
        XCTAssertTrue(try refusal(["--adaptive_emb", "True"])?.contains("--adaptive_emb") == true)
        XCTAssertNil(try refusal(["--ev", "True", "--checkpoint", "/tmp/x"]))
        let o = try command.forRank(TrainOptions.parse(["--store_type", "cached_ssd", "--persistent_path", "/tmp/p", "--embedding_sharding", "key"]))
        XCTAssertEqual(o.persistentPath, "/tmp/p/0-2")
        XCTAssertTrue(command.shardsByKey(o))
        XCTAssertEqual(command.keySharded(o.embeddingStoreSettings(seed: 1), o)?.keyShard, KeyShard(rank: 0, count: 2))
    }

    /// A store directory written by a replicated rank is not reopened as a shard (it holds every
    /// key), nor the other way round.
    func testStoreManifestNamesTheSharding() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sharded-manifest-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let whole = StoreManifest(backend: "journal", kind: .dynamic, dim: 4, optimizer: .adam, recordWidth: 14, fieldRows: [3], dataset: "census", filter: "none")
        try whole.claim(dir, flag: "--persistent_path")
        var shard = whole
        shard.sharding = "key 0 of 2"
        XCTAssertThrowsError(try shard.claim(dir, flag: "--persistent_path")) { XCTAssertTrue("\($0)".contains("embedding sharding"), "\($0)") }
        XCTAssertNoThrow(try whole.claim(dir, flag: "--persistent_path"))
    }

    func testOwnersSpreadConsecutiveKeys() {
        let shard = KeyShard(rank: 0, count: 4)
        var counts = [0, 0, 0, 0]
        for key in 0..<UInt64(4000) { counts[shard.owner(key)] += 1 }
        XCTAssertTrue(counts.allSatisfy { abs($0 - 1000) < 100 }, "owners of keys 0..<4000: \(counts)")
    }

    func testAdaptiveStoreRefusesKeySharding() throws {
        let model = try MMoEModel(Self.config, seed: 3, embeddingTable: false)
        var s = EmbeddingStoreSettings(kind: .adaptive, seed: 9)
        s.keyShard = KeyShard(rank: 0, count: 2)
        XCTAssertThrowsError(try EmbeddingStore(model: model, optimizer: .adam, settings: s, filter: CounterFilter(threshold: 2),
                                                makeStorage: { MemoryRowStorage(width: $0) })) {
            XCTAssertTrue("\($0)".contains("--embedding_sharding replicated"), "\($0)")
        }
    }
}
