import Foundation

/// Reads a file in fixed-size chunks, through the system's `gzip -dc` when the name ends in `.gz`,
/// so a data set of any size is parsed with a bounded buffer rather than held whole in memory.
/// A plain file can also be read from an offset, so several loaders can share one file.
final class ChunkReader {
    let path: String
    private let chunkSize: Int
    /// Bytes still to be read when the reader was given a byte range; nil: to the end of the stream.
    private var remaining: Int?
    private let handle: FileHandle
    /// The decompressor, for `.gz` files; nil for plain ones.
    private let gzip: Process?
    private let gzipErrors: Pipe?
    /// False for a stream handed in by the caller (standard input), which the caller closes.
    private var ownsHandle = true
    private var closed = false

    /// `byteRange`: only these bytes of the file (clipped at its end). Plain files only: a gzip
    /// stream cannot be entered in the middle, so a range on a `.gz` path is an error.
    init(path: String, chunkSize: Int = 1 << 20, byteRange: Range<Int>? = nil) throws(DatasetError) {
        precondition(chunkSize > 0, "ChunkReader: chunkSize must be positive")
        precondition(byteRange.map { $0.lowerBound >= 0 } ?? true, "ChunkReader: negative byte offset")
        self.path = path
        self.chunkSize = chunkSize
        remaining = byteRange?.count
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw DatasetError(file: path, "cannot open the file for reading")
        }
        if path.hasSuffix(".gz") {
            if byteRange != nil {
                throw DatasetError(file: path, "cannot read a byte range of a gzip-compressed file; decompress it first")
            }
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
            if let start = byteRange?.lowerBound, start > 0 {
                do { try handle.seek(toOffset: UInt64(start)) } catch {
                    throw DatasetError(file: path, "cannot seek to byte \(start): \(error)")
                }
            }
        }
    }

    /// Reads the open stream `handle` (standard input, a pipe) to its end; `name` stands for the
    /// file in errors ("stdin"). The handle stays open: it belongs to the caller.
    init(handle: FileHandle, name: String, chunkSize: Int = 1 << 20) {
        precondition(chunkSize > 0, "ChunkReader: chunkSize must be positive")
        path = name
        self.chunkSize = chunkSize
        remaining = nil
        self.handle = handle
        gzip = nil
        gzipErrors = nil
        ownsHandle = false
    }

    deinit { close() }

    /// The next chunk, or nil at the end of the file. For `.gz` input the end also checks gzip's
    /// exit status, so a corrupt or truncated archive is an error rather than a short data set.
    func read() throws(DatasetError) -> [UInt8]? {
        precondition(!closed, "ChunkReader: read after close")
        let want = min(chunkSize, remaining ?? chunkSize)
        let data: Data?
        do { data = want > 0 ? try handle.read(upToCount: want) : nil } catch {
            close()
            throw DatasetError(file: path, "read failed: \(error)")
        }
        if let data, !data.isEmpty {
            remaining? -= data.count
            return [UInt8](data)
        }
        try finish()
        return nil
    }

    private func finish() throws(DatasetError) {
        guard !closed else { return }
        closed = true
        if ownsHandle { try? handle.close() }
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
        if ownsHandle { try? handle.close() }
        if let gzip {
            try? gzipErrors?.fileHandleForReading.close()
            gzip.waitUntilExit()
        }
    }
}
