import Foundation
import Tensor
import Datasets

/// `mmoe-bench schema-parquet`: rows/s of `--schema` on a Parquet file (`SchemaParquetReader`:
/// decode the schema's columns row group by row group, hash, transform) against the schema'd CSV
/// reader on the CSV twin of the same rows, both on one thread, in interleaved rounds (the best of
/// each). `Scripts/make_schema_parquet_fixtures.py --large N DIR` writes such a pair with the
/// fixtures' schema.
func benchSchemaParquet(arguments: [String]) -> Int32 {
    var rounds = 3, parquet: String?, csv: String?, schemaPath: String?
    var i = 0
    func value() -> String? { i += 1; return i < arguments.count ? arguments[i] : nil }
    while i < arguments.count {
        switch arguments[i] {
        case "--rounds":
            guard let v = value(), let n = Int(v), n > 0 else { fail("schema-parquet: --rounds needs a positive integer") }
            rounds = n
        case "--parquet":
            guard let v = value() else { fail("schema-parquet: --parquet needs a path") }
            parquet = v
        case "--csv":
            guard let v = value() else { fail("schema-parquet: --csv needs a path") }
            csv = v
        case "--schema":
            guard let v = value() else { fail("schema-parquet: --schema needs a path") }
            schemaPath = v
        default: fail("schema-parquet: unknown option \(arguments[i])")
        }
        i += 1
    }
    guard let parquet, let schemaPath else { fail("schema-parquet: --parquet FILE and --schema FILE are required") }
    do {
        Parallel.threads = 1
        let schema = try SchemaParquetScan(schema: try DataSchema(contentsOf: schemaPath), paths: [parquet], keepRows: false).schema
        func time(_ body: () throws -> Int) rethrows -> (rows: Int, seconds: Double) {
            let start = DispatchTime.now().uptimeNanoseconds
            let rows = try body()
            return (rows, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        var bestParquet = Double.infinity, bestCSV = Double.infinity, rows = 0
        for _ in 0 ... rounds {  // the first round warms up
            let p = try time {
                var n = 0
                try SchemaParquetReader(schema: schema).read(paths: [parquet]) { n += $0.count; return true }
                return n
            }
            bestParquet = min(bestParquet, p.seconds)
            rows = p.rows
            if let csv {
                let c = try time {
                    var n = 0
                    try SchemaReader(schema: schema).read(.file(csv)) { n += $0.count; return true }
                    return n
                }
                bestCSV = min(bestCSV, c.seconds)
            }
        }
        print(String(format: "--schema on Parquet, one thread, best of %d rounds: %.0f rows/s (%d rows of %@)", rounds, Double(rows) / bestParquet, rows, parquet))
        if let csv {
            print(String(format: "--schema on its CSV twin, one thread: %.0f rows/s (%@); Parquet/CSV %.2f", Double(rows) / bestCSV, csv, bestCSV / bestParquet))
        }
        return 0
    } catch {
        fail("schema-parquet: \(error)")
    }
}
