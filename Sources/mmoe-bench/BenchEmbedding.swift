import Foundation
import Tensor
import MMoE

/// `mmoe-bench embedding`: what each embedding store type costs an embedding layer. A step draws
/// `batch x fields` Zipf-distributed ids (so some ids are hot, as in click logs), dedupes them,
/// reads their records (lookups) and writes them back after an Adagrad update (sparse updates).
/// Records are `width` Floats: by default 32 = a 16-wide embedding row plus its Adagrad
/// accumulator, the record an embedding store keeps per id.
///
/// Stores: `device_mem` (MemoryRowStorage); `cached_host_mem` (the same, plus a full RowSnapshot
/// save, timed separately: OneFlow saves it under --persistent_path at each checkpoint);
/// `cached_ssd` (FileRowStorage, dense keys, cache budget a fraction of the table, plus the
/// incremental commit of the timed steps' changes). All stores of one size are built and filled
/// one after the other (the resident-memory growth of each is taken then), and their timed windows
/// are interleaved round by round.
func benchEmbedding(arguments: [String]) -> Int32 {
    var sizes = [100_000, 1_000_000, 10_000_000], width = 32, batch = 512, fields = 17, steps = 100, rounds = 3
    var exponent = 1.05, budgetFraction = 0.1, directory: String?, stores = ["device_mem", "cached_host_mem", "cached_ssd"]
    var i = 0
    func value() -> String? { i += 1; return i < arguments.count ? arguments[i] : nil }
    func count(_ s: Substring) -> Int? { Int(s) ?? Double(s).flatMap { $0 >= 1 && $0 <= 1e12 && $0.rounded() == $0 ? Int($0) : nil } }
    while i < arguments.count {
        switch arguments[i] {
        case "--rows":
            guard let v = value(), case let list = v.split(separator: ",").compactMap(count), !list.isEmpty, list.count == v.split(separator: ",").count,
                  list.allSatisfy({ $0 > 0 }) else { fail("embedding: --rows needs a list of row counts like 1e5,1e6") }
            sizes = list
        case "--width":
            guard let v = value(), let n = Int(v), n > 0 else { fail("embedding: --width needs a positive integer") }
            width = n
        case "--batch":
            guard let v = value(), let n = Int(v), n > 0 else { fail("embedding: --batch needs a positive integer") }
            batch = n
        case "--fields":
            guard let v = value(), let n = Int(v), n > 0 else { fail("embedding: --fields needs a positive integer") }
            fields = n
        case "--steps":
            guard let v = value(), let n = Int(v), n > 0 else { fail("embedding: --steps needs a positive integer") }
            steps = n
        case "--rounds":
            guard let v = value(), let n = Int(v), n > 0 else { fail("embedding: --rounds needs a positive integer") }
            rounds = n
        case "--zipf":
            guard let v = value(), let x = Double(v), x > 0, x != 1 else { fail("embedding: --zipf needs an exponent > 0, not 1") }
            exponent = x
        case "--budget":
            guard let v = value(), let x = Double(v), x > 0, x <= 1 else { fail("embedding: --budget needs a fraction of the table in (0, 1]") }
            budgetFraction = x
        case "--dir":
            guard let v = value() else { fail("embedding: --dir needs a directory") }
            directory = v
        case "--stores":
            let known = ["device_mem", "cached_host_mem", "cached_ssd"]
            guard let v = value(), case let list = v.split(separator: ",").map(String.init), !list.isEmpty, list.allSatisfy(known.contains) else {
                fail("embedding: --stores needs a list of device_mem, cached_host_mem, cached_ssd")
            }
            stores = list
        default: fail("embedding: unknown option \(arguments[i])")
        }
        i += 1
    }
    let root = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("mmoe-bench-embedding-\(getpid())").path
    defer { if directory == nil { try? FileManager.default.removeItem(atPath: root) } }
    do {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        print("mmoe-bench embedding: records of \(width) Floats (\(width == 32 ? "16-wide row + Adagrad accumulator" : "width \(width)")), "
              + "steps of \(batch) x \(fields) Zipf(\(exponent)) ids, deduped; cached_ssd budget \(budgetFraction * 100)% of the table; files in \(root)")
        for rows in sizes {
            try benchEmbeddingSize(rows: rows, width: width, batch: batch, fields: fields, steps: steps, rounds: rounds,
                                   exponent: exponent, budgetFraction: budgetFraction, stores: stores, root: root)
        }
    } catch {
        try? FileHandle.standardError.write(contentsOf: Data("mmoe-bench: \(error)\n".utf8))
        return 1
    }
    return 0
}

private func benchEmbeddingSize(rows: Int, width: Int, batch: Int, fields: Int, steps: Int, rounds: Int, exponent: Double,
                                budgetFraction: Double, stores: [String], root: String) throws {
    let tableBytes = rows * width * 4
    print(String(format: "\n%d rows (%.1f MB of records)", rows, mb(tableBytes)))
    struct Store {
        let name: String, storage: any RowStorage
        var fillSeconds: Double, rssMB: Double
        var readSeconds = 0.0, writeSeconds = 0.0, rowsRead = 0, rowsWritten = 0, hits = 0, misses = 0
    }
    var built: [Store] = []
    for name in stores {
        let before = ProcessMemory.residentMB() ?? 0
        let storage: any RowStorage
        if name == "cached_ssd" {
            let dir = root + "/ssd-\(rows)"
            try? FileManager.default.removeItem(atPath: dir)
            let budget = max(FileRowStorage.frameBytes(width: width), Int(Double(tableBytes) * budgetFraction))
            storage = try FileRowStorage(directory: dir, width: width, keys: .dense(capacity: rows), cacheBudgetBytes: budget)
        } else {
            storage = MemoryRowStorage(width: width)
        }
        let start = Date()
        try fill(storage, rows: rows)
        if let durable = storage as? FileRowStorage { try durable.commit() }
        let fillSeconds = Date().timeIntervalSince(start)
        built.append(Store(name: name, storage: storage, fillSeconds: fillSeconds, rssMB: (ProcessMemory.residentMB() ?? 0) - before))
    }

    // The same id stream for every store: 10 warm-up steps (they fill the cache with hot rows),
    // then `rounds` windows of fresh steps, each window run by every store in turn.
    var zipf = ZipfSampler(n: rows, exponent: exponent)
    var rng = SeededRNG(seed: 11)
    let perWindow = max(1, steps / rounds), warmUp = 10
    var batches: [[UInt64]] = []
    for _ in 0..<(warmUp + rounds * perWindow) {
        var seen = Set<UInt64>(), keys: [UInt64] = []
        for _ in 0..<(batch * fields) {
            let key = zipf.key(&rng)
            if seen.insert(key).inserted { keys.append(key) }
        }
        batches.append(keys)
    }
    let most = batches.map(\.count).max()!
    var records = [Float](repeating: 0, count: most * width)
    var found = [Bool](repeating: false, count: most)
    func step(_ s: inout Store, _ keys: [UInt64]) throws {
        let t0 = Date()
        try s.storage.read(keys, into: &records, found: &found)
        let t1 = Date()
        adagrad(&records, rows: keys.count, width: width)
        let t2 = Date()
        try s.storage.write(keys, records)
        let t3 = Date()
        s.readSeconds += t1.timeIntervalSince(t0)
        s.writeSeconds += t3.timeIntervalSince(t2)
        s.rowsRead += keys.count
        s.rowsWritten += keys.count
    }
    for k in built.indices {
        var warming = built[k]
        for keys in batches.prefix(warmUp) { try step(&warming, keys) }
        built[k].hits = built[k].storage.hits
        built[k].misses = built[k].storage.misses
    }
    for round in 0..<rounds {
        let window = batches[(warmUp + round * perWindow)..<(warmUp + (round + 1) * perWindow)]
        for k in built.indices {
            for keys in window { try step(&built[k], keys) }
        }
    }
    let uniquePerStep = Double(built.first?.rowsRead ?? 0) / Double(max(1, rounds * perWindow))
    print("  \(rounds) x \(perWindow) timed steps, \(Int(uniquePerStep)) distinct ids per step of \(batch * fields)")
    print("  store            fill s  lookups/s  updates/s  store samples/s  hit rate  store MB  RSS+ MB  save")
    for s in built {
        let hits = s.storage.hits - s.hits, misses = s.storage.misses - s.misses
        let hitRate = Double(hits) / Double(max(1, hits + misses))
        let samples = Double(batch) * Double(rounds * perWindow) / (s.readSeconds + s.writeSeconds)
        var save = ""
        if s.name == "cached_host_mem" {
            let path = root + "/host-\(rows).rows"
            let t = Date()
            try RowSnapshot.save(s.storage, to: path)
            let seconds = Date().timeIntervalSince(t)
            save = String(format: "full snapshot %.2f s (%.0f MB/s)", seconds, Double(tableBytes) / 1e6 / seconds)
            try? FileManager.default.removeItem(atPath: path)
        } else if let file = s.storage as? FileRowStorage {
            let t = Date()
            try file.commit()
            save = String(format: "commit of %d changed rows %.2f s", file.lastCommitRecords, Date().timeIntervalSince(t))
        }
        print("  " + s.name.padding(toLength: 15, withPad: " ", startingAt: 0) + String(format: " %7.1f %10.0f %10.0f %16.0f %8.1f%% %9.1f %8.1f  %@", s.fillSeconds,
                     Double(s.rowsRead) / s.readSeconds, Double(s.rowsWritten) / s.writeSeconds, samples, hitRate * 100,
                     mb(s.storage.residentBytes), s.rssMB, save as NSString))
    }
    for s in built where s.storage is FileRowStorage { try? FileManager.default.removeItem(atPath: (s.storage as! FileRowStorage).directory) }
}

private func mb(_ bytes: Int) -> Double { Double(bytes) / 1_048_576 }

/// Every row, in batches, as a freshly initialised embedding row with its Adagrad accumulator at
/// 0.1 (the record layout the bench assumes when the width is even).
private func fill(_ storage: any RowStorage, rows: Int) throws {
    let width = storage.width, chunk = 8192
    var rng = SeededRNG(seed: 5)
    var keys: [UInt64] = [], records: [Float] = []
    for start in stride(from: 0, to: rows, by: chunk) {
        keys.removeAll(keepingCapacity: true)
        records.removeAll(keepingCapacity: true)
        for k in start..<min(rows, start + chunk) {
            keys.append(UInt64(k))
            for j in 0..<width { records.append(j < width / 2 ? (rng.nextUniform() - 0.5) * 0.01 : 0.1) }
        }
        try storage.write(keys, records)
    }
}

/// An Adagrad step on each record `[values | accumulators]` with a made-up gradient: the work an
/// optimizer does between the lookup and the update (not timed).
private func adagrad(_ records: inout [Float], rows: Int, width: Int) {
    let half = width / 2
    guard half > 0 else { return }
    for r in 0..<rows {
        for j in 0..<half {
            let g = records[r * width + j] * 0.1 + 0.001
            let acc = records[r * width + half + j] + g * g
            records[r * width + half + j] = acc
            records[r * width + j] -= 0.01 * g / acc.squareRoot()
        }
    }
}

/// Zipf-distributed ranks 1...n by rejection-inversion (Hörmann and Derflinger, 1996): O(1)
/// memory and time per draw whatever n. Ranks are scattered over the keys by a fixed bijection,
/// so the hot ids are not neighbours in a dense table.
struct ZipfSampler {
    let n: Int, s: Double
    private let hIntegralX1: Double, hIntegralN: Double, cut: Double

    init(n: Int, exponent s: Double) {
        (self.n, self.s) = (n, s)
        hIntegralX1 = ZipfSampler.hIntegral(1.5, s) - 1
        hIntegralN = ZipfSampler.hIntegral(Double(n) + 0.5, s)
        cut = 2 - ZipfSampler.hIntegralInverse(ZipfSampler.hIntegral(2.5, s) - ZipfSampler.h(2, s), s)
    }

    /// A rank in 1...n.
    mutating func rank(_ rng: inout SeededRNG) -> Int {
        while true {
            let u = hIntegralN + Double(rng.next() >> 11) * 0x1p-53 * (hIntegralX1 - hIntegralN)
            let x = ZipfSampler.hIntegralInverse(u, s)
            let k = min(max(Int(x + 0.5), 1), n)
            if Double(k) - x <= cut || u >= ZipfSampler.hIntegral(Double(k) + 0.5, s) - ZipfSampler.h(Double(k), s) { return k }
        }
    }

    /// The key of a drawn rank: rank r goes to (r - 1) * p mod n for a prime p (a bijection
    /// unless n is a multiple of p, when ranks are used as keys).
    mutating func key(_ rng: inout SeededRNG) -> UInt64 {
        let p: UInt64 = 2_654_435_761
        let r = UInt64(rank(&rng) - 1)
        return UInt64(n) % p == 0 ? r : r &* p % UInt64(n)
    }

    private static func h(_ x: Double, _ s: Double) -> Double { exp(-s * log(x)) }
    private static func hIntegral(_ x: Double, _ s: Double) -> Double { let lx = log(x); return helper2((1 - s) * lx) * lx }
    private static func hIntegralInverse(_ x: Double, _ s: Double) -> Double {
        var t = x * (1 - s)
        if t < -1 { t = -1 }
        return exp(helper1(t) * x)
    }
    private static func helper1(_ x: Double) -> Double { abs(x) > 1e-8 ? log1p(x) / x : 1 - x * (0.5 - x * (1.0 / 3 - 0.25 * x)) }
    private static func helper2(_ x: Double) -> Double { abs(x) > 1e-8 ? expm1(x) / x : 1 + x * 0.5 * (1 + x * (1.0 / 3) * (1 + 0.25 * x)) }
}
