import Foundation
import MMoE

// mmoe-report: parse the flags, build the report, and turn errors into a message and an exit code
// (2 for anything the user can fix: flags and run files; 1 for anything else).

func fail(_ message: String, code: Int32) -> Never {
    try? FileHandle.standardError.write(contentsOf: Data("mmoe-report: \(message)\n".utf8))
    exit(code)
}

let options: ReportOptions
do {
    options = try ReportOptions.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    fail("\(error)\nRun mmoe-report --help for the list of flags.", code: 2)
}
if options.help {
    print(ReportOptions.helpText)
    exit(0)
}
do {
    if options.command == .run {
        let report = try RunReport.load(directory: options.runDirectory!)
        let path = try report.write()
        print("Wrote \(path)")
        exit(0)
    }
    let report = try PaperReport.load(runsDirectory: options.runs!)
    for note in report.skipped { try? FileHandle.standardError.write(contentsOf: Data("mmoe-report: skipped \(note)\n".utf8)) }
    let paths = try report.write(to: options.out!)
    print("mmoe-report: \(report.runs.count) runs (\(report.models.joined(separator: ", ")); p = "
          + report.correlations.map(PaperReport.correlationLabel).joined(separator: ", ") + ")")
    for path in paths { print("Wrote \(path)") }
} catch let error as ReportError {
    fail(error.description, code: 2)
} catch {
    fail("\(error)", code: 1)
}
