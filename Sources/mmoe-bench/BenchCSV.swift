import Foundation
import Tensor
import Datasets

/// `mmoe-bench csv`: rows/s of the schema reader's data path (split, parse, scale, hash) on a
/// Census-shaped 40-column CSV (11 dense, 27 sparse, 2 labels; `--shape ids`: six of the sparse
/// columns user, item, shop... ids with up to millions of distinct values), per thread count, against pandas
/// `read_csv` on the same file (`--pandas`, which parses without hashing or scaling); and, with
/// `--builtin`, the specialised Census and Taobao readers against the schema reader on the same
/// raw files (`../shared/data`), to decide whether they could become built-in schemas.
func benchCSV(arguments: [String]) -> Int32 {
    var rounds = 3, rows = 200_000, threads = [1, 2], pandas = false, builtin = false, file: String?, shared = "../shared/data", ids = false
    var i = 0
    func value() -> String? { i += 1; return i < arguments.count ? arguments[i] : nil }
    while i < arguments.count {
        switch arguments[i] {
        case "--rounds":
            guard let v = value(), let n = Int(v), n > 0 else { fail("csv: --rounds needs a positive integer") }
            rounds = n
        case "--rows":
            guard let v = value(), let n = Int(v), n > 0 else { fail("csv: --rows needs a positive integer") }
            rows = n
        case "--threads":
            guard let v = value() else { fail("csv: --threads needs a list") }
            threads = v.split(separator: ",").compactMap { Int($0) }.filter { $0 > 0 }
            guard !threads.isEmpty else { fail("csv: --threads needs positive integers") }
        case "--file":
            guard let v = value() else { fail("csv: --file needs a path") }
            file = v
        case "--shared":
            guard let v = value() else { fail("csv: --shared needs a directory") }
            shared = v
        case "--shape":
            guard let v = value(), v == "census" || v == "ids" else { fail("csv: --shape takes census or ids") }
            ids = v == "ids"
        case "--pandas": pandas = true
        case "--builtin": builtin = true
        default: fail("csv: unknown option \(arguments[i])")
        }
        i += 1
    }
    let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("mmoe-bench-csv-\(ProcessInfo.processInfo.processIdentifier)")
    try? FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: temporary) }
    do {
        let path = file ?? temporary.appendingPathComponent(ids ? "ids_shaped.csv" : "census_shaped.csv").path
        if file == nil || !FileManager.default.fileExists(atPath: path) { try writeCensusShaped(rows: rows, ids: ids, to: path) }
        let schema = censusShapedSchema()
        let fitted = try SchemaScan(schema: schema, paths: [path], keepRows: false).schema
        let bytes = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        print("Schema'd CSV data path on \(path): 40 columns (11 dense minmax, 27 sparse hashed, 2 labels\(ids ? "; 6 id columns of up to millions of values" : "")), \(bytes / 1_000_000) MB; "
              + "best of \(rounds) rounds (a shared machine makes these noisy)")
        var rates: [Int: Double] = [:]
        for t in threads {
            Parallel.threads = t
            var n = 0
            let best = try bestTimes(rounds) {
                n = 0
                try SchemaReader(schema: fitted).read(.file(path)) { n += $0.count; return true }
            }
            rates[t] = Double(n) / best.cpu
            print(String(format: "  %d thread%@: %.0f rows/s, %.0f MB/s; %.0f rows per CPU-second (per core)", t, t == 1 ? "" : "s",
                         Double(n) / best.wall, Double(bytes) / best.wall / 1e6, rates[t]!))
        }
        if pandas {
            if let result = runPandas(path, rounds: rounds) {
                let rate = Double(result.rows) / result.cpu
                let ours = rates[1] ?? rates.values.max()!
                print(String(format: "  pandas %@ read_csv (C parser, no hashing or scaling): %.0f rows/s, %.0f rows per CPU-second; ours per CPU-second on 1 thread: %.2fx",
                             result.version, Double(result.rows) / result.seconds, rate, ours / rate))
            }
        }
        if builtin { try compareBuiltins(shared: shared, directory: temporary.path, rounds: rounds) }
    } catch {
        try? FileHandle.standardError.write(contentsOf: Data("mmoe-bench csv: \(error)\n".utf8))
        return 1
    }
    return 0
}

/// The fastest of `rounds` timed runs of `body`, after one untimed warm-up.
private func bestSeconds(_ rounds: Int, _ body: () throws -> Void) rethrows -> Double {
    try bestTimes(rounds, body).wall
}

/// The fastest of `rounds` timed runs of `body` after one untimed warm-up, in wall-clock seconds and
/// in CPU seconds of the process (all threads). On a machine shared with other work the CPU time
/// is the steadier measure of the work done: the wall clock also counts the time other processes
/// held the cores.
private func bestTimes(_ rounds: Int, _ body: () throws -> Void) rethrows -> (wall: Double, cpu: Double) {
    func cpuNow() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
    try body()
    var wall = Double.infinity, cpu = Double.infinity
    for _ in 0 ..< rounds {
        let start = DispatchTime.now().uptimeNanoseconds, cpuStart = cpuNow()
        try body()
        cpu = min(cpu, cpuNow() - cpuStart)
        wall = min(wall, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return (wall, cpu)
}

private let censusShapedDense = (0 ..< 11).map { "d\($0)" }
private let censusShapedSparse = (0 ..< 27).map { "s\($0)" }

private func censusShapedSchema() -> DataSchema {
    DataSchema(features: censusShapedDense.map { SchemaFeature(name: $0, kind: .dense, transform: .minmax) }
                   + censusShapedSparse.map { SchemaFeature(name: $0, kind: .sparse, buckets: 1024) },
               tasks: [SchemaTask(name: "income"), SchemaTask(name: "marital")])
}

/// The distinct values of the id columns of `--shape ids` (user, item, shop, brand, category,
/// campaign ids, as in a click log): `s0` ... `s5`.
private let idCardinalities = [5_000_000, 2_000_000, 500_000, 100_000, 10_000, 1_000]

/// Rows shaped like Census-income's: small integers and a few reals, categorical text of Census
/// lengths ("Not in universe", "Private", ...), two 0/1 labels; columns interleaved. `ids`: columns
/// `s0` to `s5` hold ids drawn uniformly from `idCardinalities` values instead.
private func writeCensusShaped(rows: Int, ids: Bool = false, to path: String) throws {
    var rng = SeededRNG(seed: 7)
    let words = ["Not in universe", "Private", "Married-civilian spouse present", "Never married", "White", "Male", "Female",
                 "Nonfiler", "Householder", "Native- Born in the United States", "Children", "High school graduate", "?", "Yes", "No"]
    let header = (censusShapedDense + censusShapedSparse).enumerated().sorted { $0.offset % 7 < $1.offset % 7 }.map(\.element) + ["income", "marital"]
    guard let handle = FileHandle(forWritingAtPath: path) ?? {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        return FileHandle(forWritingAtPath: path)
    }() else { throw DatasetError(file: path, "cannot write the benchmark file") }
    defer { try? handle.close() }
    var text = header.joined(separator: ",") + "\n"
    for _ in 0 ..< rows {
        var fields: [String] = []
        for name in header.dropLast(2) {
            if name.hasPrefix("d") {
                fields.append(rng.nextUniform() < 0.7 ? "\(Int(rng.nextUniform() * 90))" : String(format: "%.2f", rng.nextUniform() * 5000))
            } else if ids, let k = Int(name.dropFirst()), k < idCardinalities.count {
                fields.append(["u", "i", "shop", "b", "c", "ad"][k] + "\(rng.next() % UInt64(idCardinalities[k]))")
            } else {
                fields.append(words[Int(rng.nextUniform() * Float(words.count)) % words.count] + (name == "s3" ? "\(Int(rng.nextUniform() * 50))" : ""))
            }
        }
        fields += [rng.nextUniform() < 0.06 ? "1" : "0", rng.nextUniform() < 0.4 ? "1" : "0"]
        text += fields.joined(separator: ",") + "\n"
        if text.utf8.count > 1 << 20 {
            try handle.write(contentsOf: Data(text.utf8))
            text = ""
        }
    }
    try handle.write(contentsOf: Data(text.utf8))
}

private func runPandas(_ path: String, rounds: Int) -> (rows: Int, seconds: Double, cpu: Double, version: String)? {
    let candidates = ["Scripts/csv_bench.py"] + [1, 2, 3, 4].map { up in
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0 ..< up { dir = dir.deletingLastPathComponent() }
        return dir.appendingPathComponent("Scripts/csv_bench.py").path
    }
    guard let script = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
        try? FileHandle.standardError.write(contentsOf: Data("mmoe-bench csv --pandas: Scripts/csv_bench.py not found (run from the package root)\n".utf8))
        return nil
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", script, path, String(rounds)]
    let output = Pipe()
    process.standardOutput = output
    do { try process.run() } catch { return nil }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0,
          let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
          let rows = object["rows"] as? Int, let seconds = object["best_seconds"] as? Double, let cpu = object["best_cpu_seconds"] as? Double else {
        try? FileHandle.standardError.write(contentsOf: Data("mmoe-bench csv --pandas: python3 with pandas is needed (pip install pandas)\n".utf8))
        return nil
    }
    return (rows, seconds, cpu, object["pandas"] as? String ?? "?")
}

/// The built-in layouts against the schema reader on the same raw files: Census-income lines
/// (42 columns, vocabularies: `compareCensusSchema`) and Taobao lines (20 columns, hashed, two tag
/// lists; the built-in schema against a plain hashed one without its identity price, untrimmed
/// values and required labels), each file repeated to about 200,000 rows so a round lasts long
/// enough to time.
private func compareBuiltins(shared: String, directory: String, rounds: Int) throws {
    Parallel.threads = 1
    func repeated(_ source: String, times: Int, name: String) throws -> String {
        var text = Data()
        let reader = DataInput.file(source)
        var lines = Data()
        try reader.forEachChunkForBench { lines.append(contentsOf: $0) }
        for _ in 0 ..< times { text.append(lines) }
        let path = (directory as NSString).appendingPathComponent(name)
        try text.write(to: URL(fileURLWithPath: path))
        return path
    }
    print("The built-in layouts and the schema reader, same raw files, 1 thread, rows per CPU-second:")
    if let files = CensusIncome.files(in: (shared as NSString).appendingPathComponent("census")) {
        try compareCensusSchema(trainPath: try repeated(files.train, times: 15, name: "census.data"), directory: directory, rounds: max(rounds, 5))
    }
    let taobaoTrain = ((shared as NSString).appendingPathComponent("taobao") as NSString).appendingPathComponent(Taobao.trainFileName)
    if FileManager.default.fileExists(atPath: taobaoTrain) {
        let path = try repeated(taobaoTrain, times: 20, name: "taobao.csv")
        let names = Taobao.columnNames
        let schema = DataSchema(header: false, features: zip(Taobao.fieldNames, Taobao.bucketSizes).map { name, buckets in
            SchemaFeature(name: name, kind: Taobao.bagFieldNames.contains(name) ? .tags : .sparse, index: names.firstIndex(of: name)!, buckets: buckets)
        }, tasks: [SchemaTask(name: "ctr", index: 0), SchemaTask(name: "cvr", index: 1)])
        var n = 0, m = 0
        let builtin = try bestTimes(rounds) { n = 0; try Taobao.read(.file(path)) { n += $0.count; return true } }.cpu
        let generic = try bestTimes(rounds) { m = 0; try SchemaReader(schema: schema).read(.file(path)) { m += $0.count; return true } }.cpu
        print(String(format: "  Taobao (%d rows): the built-in schema (Taobao.read) %.0f rows/CPU-s, a plain hashed schema %.0f rows/CPU-s: "
                     + "the built-in schema's options cost %.2fx", n, Double(n) / builtin, Double(m) / generic, builtin / generic))
    }
}
