import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure to write a checkpoint file; the message names the file.
public struct CheckpointWriteError: Error, CustomStringConvertible {
    public let description: String
}

/// Replacing a file so that a crash at any moment leaves either the old file or the new one
/// under its name, never a mixture or a truncated file.
enum AtomicFile {
    /// The temporary name `write` uses for `name` (beside it, hidden; a leftover from a crash is
    /// ignored by every reader and overwritten by the next save).
    static func temporaryName(_ name: String) -> String { ".\(name).partial" }

    /// Writes `data` as `directory/name`: into a temporary file, flushed to the disk (fsync), then
    /// renamed over `name` (atomic on POSIX file systems), then the directory flushed, so the
    /// rename itself survives a power cut.
    static func write(_ data: Data, as name: String, in directory: String) throws(CheckpointWriteError) {
        let final = (directory as NSString).appendingPathComponent(name)
        let temporary = (directory as NSString).appendingPathComponent(temporaryName(name))
        func fail(_ what: String) -> CheckpointWriteError { CheckpointWriteError(description: "\(final): \(what)") }
        guard FileManager.default.createFile(atPath: temporary, contents: nil) else {
            throw fail("cannot create the temporary file \(temporary)")
        }
        do {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
            defer { try? handle.close() }
            if FileFaults.fails("write \(temporary)") { throw CocoaError(.fileWriteOutOfSpace) }
            try handle.write(contentsOf: data)
            if FileFaults.fails("fsync \(temporary)") { throw CocoaError(.fileWriteUnknown) }
            try handle.synchronize()
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw fail("writing \(data.count) bytes to \(temporary) failed: \(error.localizedDescription)")
        }
        guard !FileFaults.fails("rename \(temporary)"), rename(temporary, final) == 0 else {
            let why = errnoDescription()
            try? FileManager.default.removeItem(atPath: temporary)
            throw fail("renaming \(temporary) over it failed: \(why)")
        }
        try syncDirectory(directory)
    }

    /// fsync of a directory: makes the entries created or renamed in it durable.
    static func syncDirectory(_ directory: String) throws(CheckpointWriteError) {
        if FileFaults.fails("fsync \(directory)/") { throw CheckpointWriteError(description: "\(directory): fsync of the directory failed: injected fault") }
        let fd = open(directory, O_RDONLY)
        guard fd >= 0 else { throw CheckpointWriteError(description: "\(directory): cannot open the directory to flush it: \(errnoDescription())") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw CheckpointWriteError(description: "\(directory): fsync of the directory failed: \(errnoDescription())") }
    }

    private static func errnoDescription() -> String {
        POSIXErrorCode(rawValue: errno).map { POSIXError($0).localizedDescription } ?? "errno \(errno)"
    }
}
