import Foundation
import MMoE
import Datasets

// mmoe-train: parse the flags, run, and turn errors into a message and an exit code
// (2 for anything the user can fix: flags, files, data; 1 for anything else). Under `mpirun`
// (an MPI build), each rank runs this; rank 0 prints, and an error on any rank ends the job.

ProcessMemory.keepFreedHeap()
if let refusal = LaunchEnvironment.refusal() {
    try? FileHandle.standardError.write(contentsOf: Data("mmoe-train: \(refusal)\n".utf8))
    exit(2)
}
let communicator = DistributedRun.join()
let rank = communicator?.rank ?? 0

@MainActor func fail(_ message: String, code: Int32) -> Never {
    let who = rank == 0 ? "mmoe-train" : "mmoe-train (rank \(rank))"
    try? FileHandle.standardError.write(contentsOf: Data("\(who): \(message)\n".utf8))
    if let communicator, communicator.size > 1 { communicator.abort(code: code) }
    exit(code)
}

let options: TrainOptions
do {
    options = try TrainOptions.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    fail("\(error)\nRun mmoe-train --help for the list of flags.", code: 2)
}
if options.help {
    if rank == 0 { print(TrainOptions.helpText) }
    DistributedRun.finish(communicator)
    exit(0)
}
do {
    var command = TrainCommand(options: options)
    command.communicator = communicator
    if rank != 0 {
        command.print = { _ in }
        command.printError = { _ in }
    }
    try command.run()
    DistributedRun.finish(communicator)
} catch let error as UsageError {
    fail(error.description, code: 2)
} catch let error as DatasetError {
    fail(error.description, code: 2)
} catch {
    fail("\(error)", code: 1)
}
