import Foundation
import Datasets

/// `mmoe-bench parquet`: rows/s of our Parquet reader, decoding every column of every row group
/// to one value per row (what `pyarrow.parquet.read_table` does), on one thread, for OneFlow's
/// Census folder (`--dir`, default `../shared/data/census-parquet`) and one large file (`--file`;
/// `Scripts/parquet_bench.py write-large` writes one); also the whole Census load (`CensusParquet`:
/// decode plus the id vocabularies). With `--pyarrow`, the same files through
/// `Scripts/parquet_bench.py time` (single-threaded pyarrow) and the ratio. With `--gz FILE`, our
/// inflate against the `gzip -dc` process on that file, in MB/s of output.
func benchParquet(arguments: [String]) -> Int32 {
    var rounds = 5, directory = "../shared/data/census-parquet", file: String?, pyarrow = false, gz: String?
    var streamDirectory: String?, streamRows = 500_000, trainSteps = 500
    var i = 0
    func value() -> String? { i += 1; return i < arguments.count ? arguments[i] : nil }
    while i < arguments.count {
        switch arguments[i] {
        case "--rounds":
            guard let v = value(), let n = Int(v), n > 0 else { fail("parquet: --rounds needs a positive integer") }
            rounds = n
        case "--dir":
            guard let v = value() else { fail("parquet: --dir needs a directory") }
            directory = v
        case "--file":
            guard let v = value() else { fail("parquet: --file needs a path") }
            file = v
        case "--gz":
            guard let v = value() else { fail("parquet: --gz needs a path") }
            gz = v
        case "--pyarrow": pyarrow = true
        case "--stream":
            guard let v = value() else { fail("parquet: --stream needs a directory") }
            streamDirectory = v
        case "--stream_rows":
            guard let v = value(), let n = Int(v), n > 0 else { fail("parquet: --stream_rows needs a positive integer") }
            streamRows = n
        case "--train_steps":
            guard let v = value(), let n = Int(v), n > 0 else { fail("parquet: --train_steps needs a positive integer") }
            trainSteps = n
        default: fail("parquet: unknown option \(arguments[i])")
        }
        i += 1
    }
    func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
    /// Decodes every column of every row group of `paths`; returns the rows.
    func decodeAll(_ paths: [String]) throws -> Int {
        var rows = 0
        for path in paths {
            let f = try ParquetFile(path: path)
            for g in 0 ..< f.rowGroupCount {
                for name in f.columnNames {
                    switch f.physicalTypeName(column: name) {
                    case "INT64": _ = try f.integers(column: name, rowGroup: g)
                    case "FLOAT": _ = try f.floats(column: name, rowGroup: g)
                    default:
                        _ = try f.numbers(column: name, rowGroup: g)
                    }
                }
                rows += f.rowCount(rowGroup: g)
            }
        }
        return rows
    }
    func pyarrowRate(_ path: String) -> Double? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "Scripts/parquet_bench.py", "time", path, "--rounds", "\(rounds)"]
        let out = Pipe()
        process.standardOutput = out
        guard (try? process.run()) != nil else { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return (json["best_rows_per_s"] as? NSNumber)?.doubleValue
    }
    func report(_ label: String, rows: Int, _ times: [Double], pyarrowPath: String?) {
        let best = Double(rows) / times.min()!
        let median = Double(rows) / times.sorted()[times.count / 2]
        var line = String(format: "%@: %d rows, best %.0f rows/s, median %.0f rows/s", label, rows, best, median)
        if let pyarrowPath, let theirs = pyarrowRate(pyarrowPath) {
            line += String(format: "; pyarrow read_table (1 thread) best %.0f rows/s; ours/pyarrow %.2f", theirs, best / theirs)
        }
        print(line)
    }
    do {
        if let streamDirectory {
            try benchParquetStream(directory: streamDirectory, rows: streamRows, steps: trainSteps, rounds: rounds)
            return 0
        }
        print("Parquet data path, 1 thread, best and median of \(rounds) rounds after a warm-up (a shared machine makes these noisy)")
        if let paths = CensusParquet.files(in: directory) {
            let all = paths.train + paths.test
            var times: [Double] = [], loads: [Double] = []
            var rows = 0
            for round in 0 ... rounds {
                let t = try seconds { rows = try decodeAll(all) }
                let l = try seconds { _ = try CensusIncome.load(directory: directory, keepKeys: true) }
                if round > 0 { times.append(t); loads.append(l) }
            }
            report("OneFlow folder \(directory) (\(all.count) files), decode", rows: rows, times, pyarrowPath: pyarrow ? directory : nil)
            report("OneFlow folder, the whole Census load (decode, id vocabularies, keys)", rows: rows, loads, pyarrowPath: nil)
        } else {
            print("no OneFlow folder at \(directory) (pass --dir)")
        }
        if let file {
            var times: [Double] = []
            var rows = 0
            for round in 0 ... rounds {
                let t = try seconds { rows = try decodeAll([file]) }
                if round > 0 { times.append(t) }
            }
            report("large file \(file), decode", rows: rows, times, pyarrowPath: pyarrow ? file : nil)
        }
        if let gz {
            var ours: [Double] = [], theirs: [Double] = []
            var bytes = 0
            for round in 0 ... rounds {
                let a = try seconds { bytes = try DataInput.file(gz).decompressedByteCount() }
                let b = seconds {
                    let p = Process()
                    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                    p.arguments = ["sh", "-c", "gzip -dc \"$0\" > /dev/null", gz]
                    try? p.run()
                    p.waitUntilExit()
                }
                if round > 0 { ours.append(a); theirs.append(b) }
            }
            let mb = Double(bytes) / 1e6
            print(String(format: "gzip %@ (%.1f MB out): our inflate best %.0f MB/s, median %.0f; gzip -dc process best %.0f MB/s, median %.0f",
                         gz, mb, mb / ours.min()!, mb / ours.sorted()[ours.count / 2], mb / theirs.min()!, mb / theirs.sorted()[theirs.count / 2]))
        }
    } catch {
        FileHandle.standardError.write(Data("mmoe-bench: \(error)\n".utf8))
        return 2
    }
    return 0
}
