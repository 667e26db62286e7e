import XCTest
import Foundation
import Tensor
import Datasets
import TestSupport
@testable import MMoE

/// Dynamic rows on crafted id streams: no collisions, admission on exactly the N-th sighting,
/// eviction at exactly the step it is due, adaptive promotion, the multihash lookup.
final class EmbeddingStoreDynamicTests: XCTestCase {
    /// One sparse field of 10 buckets, 2-wide rows.
    static let config = MMoEConfig(denseWidth: 1, fieldRows: [10], embeddingDim: 2, numExperts: 1, numTasks: 1, expertDNN: [2])

    static func store(_ kind: EmbeddingStoreKind, filter: AdmissionFilter? = nil, eviction: EvictionRule? = nil,
                      interval: Int = 1, config: MMoEConfig = config) throws -> (EmbeddingStore, MMoEModel) {
        let model = try MMoEModel(config, seed: 1, embeddingTable: false)
        let store = try EmbeddingStore(model: model, optimizer: .gradientdescent,
                                       settings: EmbeddingStoreSettings(kind: kind, seed: 7, eviction: eviction, evictionInterval: interval),
                                       filter: filter, makeStorage: { MemoryRowStorage(width: $0) })
        return (store, model)
    }

    /// One row whose single field's bag holds `ids` (with raw `keys`).
    static func batch(_ ids: [Int32], keys: [UInt64]? = nil) -> Batch {
        Batch(size: 1, dense: Tensor(shape: [1, 1]), ids: ids, bagOffsets: [0, Int32(ids.count)], labels: Tensor(shape: [1, 1]),
              keys: keys)
    }

    /// A training step: pull, the gradient of Σ weight[k]·row[k] (weight 1 by default), a gradient
    /// descent update at learning rate 1, write-back (and eviction when due). Returns the working
    /// rows and the rows each lookup read, `[lookups][D]`.
    @discardableResult
    static func step(_ store: EmbeddingStore, _ model: MMoEModel, _ optimizer: GradientDescent, _ batch: Batch,
                     weights: [Float]? = nil) throws -> (working: WorkingRows, read: [[Float]]) {
        let working = try store.pull([batch], training: true)
        let b = working.batches[0], d = store.layout.dim
        let tape = Tape()
        let out = tape.embeddingBag(working.table, ids: b.ids, offsets: (0...b.ids.count).map(Int32.init))   // [lookups, D]
        let read = (0..<b.ids.count).map { Array(out.value.scalars[($0 * d)..<(($0 + 1) * d)]) }
        let w = (weights ?? [Float](repeating: 1, count: b.ids.count)).flatMap { [Float](repeating: $0, count: d) }
        tape.backward((out * tape.constant(Tensor(shape: [b.ids.count, d], scalars: w))).sum())
        optimizer.update(model)
        try store.update(working, optimizer: optimizer)
        return (working, read)
    }

    static func held(_ store: EmbeddingStore, _ key: UInt64) throws -> [Float]? {
        try EmbeddingStoreFixedTests.record(store, key)
    }

    func testCollidingValuesGetRowsOfTheirOwn() throws {
        // Two values of one field whose keys fall into the same bucket of 10.
        var byBucket: [UInt64: String] = [:]
        var pair: (String, String)?
        for i in 0..<100 where pair == nil {
            let value = "v\(i)", bucket = FieldHash.key(field: 0, value: value) % 10
            if let other = byBucket[bucket] { pair = (other, value) } else { byBucket[bucket] = value }
        }
        let (a, b) = try XCTUnwrap(pair)
        let ka = FieldHash.key(field: 0, value: a), kb = FieldHash.key(field: 0, value: b)
        let id = Int32(ka % 10)
        XCTAssertEqual(id, Int32(kb % 10), "the hashed table would give both one row")
        let (store, model) = try Self.store(.dynamic)
        let working = try Self.step(store, model, GradientDescent(learningRate: 1), Self.batch([id, id], keys: [ka, kb])).working
        XCTAssertEqual(working.keys, [ka, kb])
        XCTAssertNotEqual(working.batches[0].ids[0], working.batches[0].ids[1])
        let ra = try XCTUnwrap(Self.held(store, ka)), rb = try XCTUnwrap(Self.held(store, kb))
        XCTAssertNotEqual(Array(ra[0..<2]), Array(rb[0..<2]))
        XCTAssertEqual(store.statistics.rows, 2)
        XCTAssertEqual(store.statistics.admissions, 2)
        // A row starts at N(0, 1e-4²) drawn from the embedding-rows stream's seed ^ key (then took
        // one step of -1 per element), whatever the order the keys came in.
        var rng = SeededRNG(seed: SeededRNG.streamSeed(7, .embeddingRows) ^ ka)
        let start = (0..<2).map { _ in 1e-4 * rng.nextNormal() }
        XCTAssertEqual(Array(ra[0..<2]), start.map { $0 - 1 })
        let (other, otherModel) = try Self.store(.dynamic)
        try Self.step(other, otherModel, GradientDescent(learningRate: 1), Self.batch([id, id], keys: [kb, ka]))
        XCTAssertEqual(try Self.held(other, ka), ra)
    }

    /// Key 11 appears once per step, key 22 twice in step 1 and once in step 2, key 33 once in step
    /// 3: with threshold 3, 11 is admitted at step 3, 22 at step 2, 33 never. Until then their
    /// lookups read the zero row, which is never written.
    func admissionIsExact(_ filter: AdmissionFilter) throws {
        let (store, model) = try Self.store(.dynamic, filter: filter)
        let gd = GradientDescent(learningRate: 1)
        let steps: [[UInt64]] = [[11, 22, 22], [11, 22], [11, 33], [11]]
        var admittedAt: [UInt64: Int] = [:]
        for (i, keys) in steps.enumerated() {
            let (working, read) = try Self.step(store, model, gd, Self.batch(keys.map { Int32($0 % 10) }, keys: keys))
            for (k, key) in keys.enumerated() {
                let row = Int(working.batches[0].ids[k])
                if try Self.held(store, key) != nil {
                    admittedAt[key] = admittedAt[key] ?? i + 1
                    XCTAssertNotEqual(row, working.zeroRow, "step \(i + 1): key \(key) has a row")
                    XCTAssertNotEqual(read[k], [0, 0])
                } else {
                    XCTAssertEqual(row, working.zeroRow, "step \(i + 1): key \(key) reads the zero row")
                    XCTAssertEqual(read[k], [0, 0])
                }
            }
        }
        XCTAssertEqual(admittedAt, [22: 2, 11: 3], "\(type(of: filter))")
        XCTAssertEqual(store.statistics.rows, 2)
        XCTAssertEqual(store.statistics.admissions, 2)
        // 11 twice, 22 twice (both in step 1), 33 once.
        XCTAssertEqual(store.statistics.zeroLookups, 5)
        // Evaluation neither counts nor admits: 33 stays out however often it is read.
        for _ in 0..<5 { _ = try store.pull([Self.batch([3], keys: [33])], training: false) }
        try Self.step(store, model, gd, Self.batch([3], keys: [33]))
        XCTAssertNil(try Self.held(store, 33), "33 has had 2 training sightings")
        try Self.step(store, model, gd, Self.batch([3], keys: [33]))
        XCTAssertNotNil(try Self.held(store, 33), "33 is admitted on its third training sighting")
    }

    func testCounterFilterAdmitsOnTheNthSighting() throws {
        try admissionIsExact(CounterFilter(threshold: 3))
    }

    func testCountingBloomFilterAdmitsOnTheNthSighting() throws {
        let cbf = try CountingBloomFilter(threshold: 3, maxElements: 1000, falsePositiveRate: 0.01)
        XCTAssertEqual(cbf.size, 9586)   // ceil(-1000 ln 0.01 / ln² 2)
        XCTAssertEqual(cbf.hashCount, 7)
        try admissionIsExact(cbf)
        // Bounded memory: the counters, whatever the number of keys counted.
        let small = try CountingBloomFilter(threshold: 200, maxElements: 100, falsePositiveRate: 0.1)
        for key in 0..<UInt64(10_000) { XCTAssertFalse(small.admit(key, occurrences: 1)) }
        XCTAssertEqual(small.residentBytes, small.size)
        XCTAssertThrowsError(try CountingBloomFilter(threshold: 256, maxElements: 10, falsePositiveRate: 0.1))
    }

    func testFilterStateRoundTrips() throws {
        for make in [{ CounterFilter(threshold: 4) as AdmissionFilter },
                     { try! CountingBloomFilter(threshold: 4, maxElements: 50, falsePositiveRate: 0.05) as AdmissionFilter }] {
            let a = make(), b = make()
            for key in [UInt64(1), 2, 2, 3, 3, 3] { _ = a.admit(key, occurrences: 1) }
            try b.restore(a.checkpointState())
            XCTAssertEqual(b.checkpointState(), a.checkpointState())
            XCTAssertTrue(b.admit(3, occurrences: 1), "3 had 3 sightings; the 4th admits it")
            XCTAssertFalse(b.admit(1, occurrences: 2))
        }
    }

    /// gstep 3, evicting every step: key 11 is updated at steps 1 and 2 only, so it goes after step
    /// 5 (5 - 2 = 3) and not before; key 22, updated every step, stays.
    func testGlobalStepEvictionAtTheExactStep() throws {
        let (store, model) = try Self.store(.dynamic, eviction: .globalSteps(3))
        let gd = GradientDescent(learningRate: 1)
        for s in 1...6 {
            let keys: [UInt64] = s <= 2 ? [11, 22] : [22]
            try Self.step(store, model, gd, Self.batch(keys.map { Int32($0 % 10) }, keys: keys))
            let record = try Self.held(store, 11)
            XCTAssertEqual(record != nil, s < 5, "step \(s)")
            if s < 5 { XCTAssertEqual(RowLayout.decode(record![store.layout.lastUpdateSlot]), UInt32(min(s, 2))) }
            XCTAssertNotNil(try Self.held(store, 22))
        }
        XCTAssertEqual(store.statistics.evictions, 1)
        // An evicted id starts over: with no filter it is admitted again on sight, fresh.
        try Self.step(store, model, gd, Self.batch([1], keys: [11]))
        XCTAssertEqual(store.statistics.admissions, 3)
    }

    /// l2 1e-2, evicting every second step: key 11 gets no gradient (weight 0) and keeps its
    /// N(0, 1e-4²) start, so it goes at step 2, not at step 1; key 22 moves by -1 per element and stays.
    func testL2EvictionAtTheExactStep() throws {
        let (store, model) = try Self.store(.dynamic, eviction: .l2Norm(1e-2), interval: 2)
        let gd = GradientDescent(learningRate: 1)
        try Self.step(store, model, gd, Self.batch([1, 2], keys: [11, 22]), weights: [0, 1])
        XCTAssertNotNil(try Self.held(store, 11), "step 1 is not an eviction step")
        try Self.step(store, model, gd, Self.batch([2], keys: [22]))
        XCTAssertNil(try Self.held(store, 11), "evicted at step 2")
        XCTAssertNotNil(try Self.held(store, 22))
        XCTAssertEqual(store.statistics.evictions, 1)
    }

    /// Threshold 2: a rare id reads and trains its shared hashed row; at its second sighting it is
    /// promoted to a row of its own that starts from the shared row's values (fresh optimizer
    /// state), and the shared row stays for the other ids of its bucket.
    func testAdaptivePromotesFrequentIdsFromTheirSharedRow() throws {
        let (store, model) = try Self.store(.adaptive, filter: CounterFilter(threshold: 2))
        XCTAssertEqual(store.statistics.rows, 10, "the shared hashed rows exist from the start")
        let gd = GradientDescent(learningRate: 1)
        let shared = EmbeddingStore.sharedTag | 4
        let before = try XCTUnwrap(Self.held(store, shared))
        // Keys 14 and 24 share bucket 4.
        var working = try Self.step(store, model, gd, Self.batch([4, 4], keys: [14, 24])).working
        XCTAssertNil(working.zeroRow)
        XCTAssertEqual(working.keys, [shared])
        let trained = try XCTUnwrap(Self.held(store, shared))
        XCTAssertEqual(trained[0], before[0] - 2, "both lookups trained the shared row")
        working = try Self.step(store, model, gd, Self.batch([4], keys: [14])).working
        XCTAssertEqual(working.keys, [14])
        let promoted = try XCTUnwrap(Self.held(store, 14))
        XCTAssertEqual(Array(promoted[0..<2]), Array(trained[0..<2]).map { $0 - 1 }, "starts from the shared row, then one step")
        XCTAssertEqual(try Self.held(store, shared), trained, "the shared row was not touched by the promoted id")
        // 24 is still rare: it reads the shared row.
        working = try store.pull([Self.batch([4], keys: [24])], training: false)
        XCTAssertEqual(working.keys, [shared])
        XCTAssertEqual(store.statistics.rows, 11)
        XCTAssertEqual(store.statistics.admissions, 1)
    }

    /// Buckets of a 10-row field: m = 4 remainder rows and 3 quotient rows, each bucket its own
    /// (remainder, quotient) pair; a lookup reads the product of its two rows and both train.
    func testMultihashReadsTheProductOfItsTwoRows() throws {
        let config = MMoEConfig(denseWidth: 1, fieldRows: [10, 3], embeddingDim: 2, numExperts: 1, numTasks: 1, expertDNN: [2])
        let (store, model) = try Self.store(.multihash, config: config)
        XCTAssertEqual(store.storage.count, (4 + 3) + (2 + 2))
        var pairs = Set<[Int32]>()
        let batch = Batch(size: 10, dense: Tensor(shape: [10, 1]), ids: (0..<10).flatMap { [Int32($0), 10 + Int32($0 % 3)] },
                          labels: Tensor(shape: [1, 10]))
        let working = try store.pull([batch], training: true)
        let b = working.batches[0], values = working.table.value.scalars
        for r in 0..<10 {
            pairs.insert([Int32(working.keys[Int(b.ids[2 * r])]), Int32(working.keys[Int(b.pairedIds![2 * r])])])
            XCTAssertEqual(working.keys[Int(b.ids[2 * r])], UInt64(r % 4), "remainder row of bucket \(r)")
            XCTAssertEqual(working.keys[Int(b.pairedIds![2 * r])], UInt64(4 + r / 4), "quotient row of bucket \(r)")
        }
        XCTAssertEqual(pairs.count, 10, "no two buckets share both rows")
        let x = model.input(b, tape: Tape(recording: false), table: working.table).value
        for r in 0..<10 {
            let a = Int(b.ids[2 * r]), q = Int(b.pairedIds![2 * r])
            XCTAssertEqual(x[r, 0], values[a * 2] * values[q * 2])
            XCTAssertEqual(x[r, 1], values[a * 2 + 1] * values[q * 2 + 1])
        }
    }

    func testCheckpointStateRoundTripsAndRefusesAnotherStore() throws {
        let (store, model) = try Self.store(.dynamic, filter: CounterFilter(threshold: 2))
        try Self.step(store, model, GradientDescent(learningRate: 1), Self.batch([1, 2, 2], keys: [11, 22, 22]))
        let state = store.checkpointState()
        XCTAssertEqual(state["counter.keys"], [11])
        let (copy, _) = try Self.store(.dynamic, filter: CounterFilter(threshold: 2))
        try copy.restoreCheckpointState(state)
        XCTAssertEqual(copy.checkpointState(), state)
        XCTAssertEqual(copy.statistics.admissions, 1)
        let (fixed, _) = try Self.store(.fixed)
        XCTAssertThrowsError(try fixed.restoreCheckpointState(state)) { error in
            XCTAssertTrue("\(error)".contains("different kind"), "\(error)")
        }
    }

    func testDynamicStoreNeedsRawKeys() throws {
        let (store, _) = try Self.store(.dynamic)
        XCTAssertThrowsError(try store.pull([Self.batch([1])], training: true)) { error in
            XCTAssertTrue("\(error)".contains("raw 64-bit keys"), "\(error)")
        }
    }
}
