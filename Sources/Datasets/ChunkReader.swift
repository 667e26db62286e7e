import Foundation

/// Reads a file in fixed-size chunks, through the system's `gzip -dc` when the name ends in `.gz`,
/// so a data set of any size is parsed with a bounded buffer rather than held whole in memory.
final class ChunkReader {
    let path: String
    private let chunkSize: Int
    private let handle: FileHandle
    /// The decompressor, for `.gz` files; nil for plain ones.
    private let gzip: Process?
    private let gzipErrors: Pipe?
    private var closed = false

    init(path: String, chunkSize: Int = 1 << 20) throws(DatasetError) {
        self.path = path
        self.chunkSize = chunkSize
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw DatasetError(file: path, "cannot open the file for reading")
        }
        if path.hasSuffix(".gz") {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["gzip", "-dc", path]
            let output = Pipe()
            let errors = Pipe()
            process.standardOutput = output
            process.standardError = errors
            process.standardInput = FileHandle.nullDevice
            do { try process.run() } catch {
                throw DatasetError(file: path, "cannot start gzip to decompress the file: \(error)")
            }
            handle = output.fileHandleForReading
            gzip = process
            gzipErrors = errors
        } else {
            do { handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path)) } catch {
                throw DatasetError(file: path, "cannot open the file for reading: \(error)")
            }
            gzip = nil
            gzipErrors = nil
        }
    }

    deinit { close() }

    /// The next chunk, or nil at the end of the file. For `.gz` input the end also checks gzip's
    /// exit status, so a corrupt or truncated archive is an error rather than a short data set.
    func read() throws(DatasetError) -> [UInt8]? {
        precondition(!closed, "ChunkReader: read after close")
        let data: Data?
        do { data = try handle.read(upToCount: chunkSize) } catch {
            close()
            throw DatasetError(file: path, "read failed: \(error)")
        }
        if let data, !data.isEmpty { return [UInt8](data) }
        try finish()
        return nil
    }

    private func finish() throws(DatasetError) {
        guard !closed else { return }
        closed = true
        try? handle.close()
        guard let gzip, let gzipErrors else { return }
        let stderr = gzipErrors.fileHandleForReading.readDataToEndOfFile()
        gzip.waitUntilExit()
        if gzip.terminationReason != .exit || gzip.terminationStatus != 0 {
            let detail = String(decoding: stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw DatasetError(file: path, "gzip failed to decompress the file (exit status \(gzip.terminationStatus))"
                + (detail.isEmpty ? "" : ": \(detail)"))
        }
    }

    /// Stops early. Closing our end of the pipe makes a still-running gzip fail its next write and
    /// exit, so it is never left blocked on a full pipe.
    func close() {
        guard !closed else { return }
        closed = true
        try? handle.close()
        if let gzip {
            try? gzipErrors?.fileHandleForReading.close()
            gzip.waitUntilExit()
        }
    }
}
