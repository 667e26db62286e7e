import Foundation
import Datasets

/// `mmoe-bench csv --builtin`, Census part: `CensusIncome.load` and `CensusEncoder.encode`, the
/// commands' Census path, against the schema reader called directly with the built-in Census
/// schema (`CensusTaskGroup.schema`) on the same raw file, one thread. The commands' path reads
/// through that schema since the line parser was retired (it was 1.40x slower fitting and 1.99x
/// encoding); what is left to see is the cost of its wrapping (the encoder rebuilt from the fitted
/// schema), which should keep the ratio near 1. Two stages: the fit (read the training file, fit the
/// vocabularies and ranges, keep the encoded rows) and the encode (a fitted encoder reading the file
/// again, as the test split and streamed training are). Rounds alternate the two readers; the
/// medians of the process CPU time and of the wall clock are reported.
func compareCensusSchema(trainPath: String, directory: String, rounds: Int) throws {
    // CensusIncome.load reads a directory: the training file and a one-line test file.
    let dataDirectory = (directory as NSString).appendingPathComponent("census-schema-bench")
    try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
    let train = (dataDirectory as NSString).appendingPathComponent(CensusIncome.trainFileName)
    if FileManager.default.fileExists(atPath: train) { try FileManager.default.removeItem(atPath: train) }
    try FileManager.default.linkItem(atPath: trainPath, toPath: train)
    var firstLine = ""
    try DataInput.file(trainPath).forEachChunkForBench { chunk in
        if firstLine.isEmpty { firstLine = String(decoding: chunk.prefix { $0 != 0x0A }, as: UTF8.self) }
    }
    try (firstLine + "\n").write(toFile: (dataDirectory as NSString).appendingPathComponent(CensusIncome.testFileName), atomically: true, encoding: .utf8)

    let schema = CensusTaskGroup.incomeMarital.schema()
    var builtinFit: [(Double, Double)] = [], schemaFit: [(Double, Double)] = []
    var builtinEncode: [(Double, Double)] = [], schemaEncode: [(Double, Double)] = []
    var rows = 0
    var census: CensusData?, fitted: DataSchema?
    for _ in 0 ..< max(1, rounds) {
        builtinFit.append(try timed { census = try CensusIncome.load(directory: dataDirectory); rows = census!.train.count })
        schemaFit.append(try timed {
            let scan = try SchemaScan(schema: schema, paths: [train], keepRows: true)
            fitted = scan.schema
            precondition(scan.rows == rows, "the two readers read \(rows) and \(scan.rows) rows")
        })
        builtinEncode.append(try timed { try census!.encoder.encode(.file(train)) { _ in true } })
        schemaEncode.append(try timed { try SchemaReader(schema: fitted!).read(.file(train)) { _ in true } })
    }
    func median(_ times: [(Double, Double)], _ cpu: Bool) -> Double {
        let sorted = times.map { cpu ? $0.1 : $0.0 }.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
    for (stage, builtin, generic) in [("fit", builtinFit, schemaFit), ("encode", builtinEncode, schemaEncode)] {
        let b = median(builtin, true), s = median(generic, true)
        print(String(format: "  Census-income %@ (%d rows, %d rounds, medians): CensusIncome %.3f s CPU (%.0f rows/CPU-s, %.3f s wall), "
                     + "schema reader directly %.3f s CPU (%.0f rows/CPU-s, %.3f s wall): direct is %.2fx the commands' rate",
                     stage, rows, builtin.count, b, Double(rows) / b, median(builtin, false), s, Double(rows) / s, median(generic, false), b / s))
    }
    try? FileManager.default.removeItem(atPath: dataDirectory)
}

/// Wall-clock and process CPU seconds of `body`.
private func timed(_ body: () throws -> Void) rethrows -> (Double, Double) {
    func cpuNow() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
    let start = DispatchTime.now().uptimeNanoseconds, cpuStart = cpuNow()
    try body()
    return (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, cpuNow() - cpuStart)
}
