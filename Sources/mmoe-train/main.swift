import Foundation
import MMoE
import Datasets

// mmoe-train: parse the flags, run, and turn errors into a message and an exit code
// (2 for anything the user can fix: flags, files, data; 1 for anything else).

func fail(_ message: String, code: Int32) -> Never {
    try? FileHandle.standardError.write(contentsOf: Data("mmoe-train: \(message)\n".utf8))
    exit(code)
}

let options: TrainOptions
do {
    options = try TrainOptions.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    fail("\(error)\nRun mmoe-train --help for the list of flags.", code: 2)
}
if options.help {
    print(TrainOptions.helpText)
    exit(0)
}
do {
    try TrainCommand(options: options).run()
} catch let error as UsageError {
    fail(error.description, code: 2)
} catch let error as DatasetError {
    fail(error.description, code: 2)
} catch {
    fail("\(error)", code: 1)
}
