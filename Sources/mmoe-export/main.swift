import Foundation
import MMoE

// mmoe-export: parse the flags, export, and turn errors into a message and an exit code
// (2 for anything the user can fix: flags, checkpoint, output path; 1 for anything else).

func fail(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(Data("mmoe-export: \(message)\n".utf8))
    exit(code)
}

let options: ExportOptions
do {
    options = try ExportOptions.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    fail("\(error)\nRun mmoe-export --help for the list of flags.", code: 2)
}
if options.help {
    print(ExportOptions.helpText, terminator: "")
    exit(0)
}
do {
    try ExportCommand(options: options).run()
} catch let error as UsageError {
    fail(error.description, code: 2)
} catch {
    fail("\(error)", code: 1)
}
