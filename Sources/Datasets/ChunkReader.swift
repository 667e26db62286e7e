import Foundation

/// Reads a file in fixed-size chunks, inflated by our own `GzipDecoder` when the name ends in `.gz`
/// (on a thread of its own, a couple of chunks ahead: `GzipPipeline`), so a data set of any size is
/// parsed with a bounded buffer rather than held whole in memory. A plain file can also be read
/// from an offset, so several loaders can share one file.
final class ChunkReader {
    let path: String
    private let chunkSize: Int
    /// Bytes still to be read when the reader was given a byte range; nil: to the end of the stream.
    private var remaining: Int?
    private let handle: FileHandle
    /// The decompressor, for `.gz` files (reading `handle` on its own thread); nil for plain ones.
    private var gzip: GzipPipeline?
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
            let file: FileHandle
            do { file = try FileHandle(forReadingFrom: URL(fileURLWithPath: path)) } catch {
                throw DatasetError(file: path, "cannot open the file for reading: \(error)")
            }
            handle = file
            gzip = GzipPipeline(GzipDecoder { () throws(CompressionError) -> [UInt8]? in
                do {
                    guard let data = try file.read(upToCount: 1 << 18), !data.isEmpty else { return nil }
                    return [UInt8](data)
                } catch { throw .readFailed("\(error)") }
            }, minimum: chunkSize)
        } else {
            do { handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path)) } catch {
                throw DatasetError(file: path, "cannot open the file for reading: \(error)")
            }
            gzip = nil
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
        ownsHandle = false
    }

    deinit { close() }

    /// The next chunk, or nil at the end of the file. For `.gz` input every gzip trailer's CRC-32
    /// and length are checked, so a corrupt or truncated archive is an error rather than a short
    /// data set.
    func read() throws(DatasetError) -> [UInt8]? {
        precondition(!closed, "ChunkReader: read after close")
        if let gzip {
            do {
                if let piece = try gzip.next() { return piece }
            } catch {
                close()
                throw DatasetError(file: path, "cannot decompress the gzip file: \(error)")
            }
            close()
            return nil
        }
        return try readPlain().map { [UInt8]($0) }
    }

    /// Appends the next chunk to `buffer`; false at the end of the file. A plain file's chunk goes
    /// straight from the read into `buffer`, without an array of its own in between.
    func read(appendingTo buffer: inout [UInt8]) throws(DatasetError) -> Bool {
        precondition(!closed, "ChunkReader: read after close")
        if gzip != nil {
            guard let piece = try read() else { return false }
            buffer.append(contentsOf: piece)
            return true
        }
        guard let data = try readPlain() else { return false }
        data.withUnsafeBytes { buffer.append(contentsOf: $0) }
        return true
    }

    /// The next chunk of a plain file, or nil at its end.
    private func readPlain() throws(DatasetError) -> Data? {
        let want = min(chunkSize, remaining ?? chunkSize)
        let data: Data?
        do { data = want > 0 ? try handle.read(upToCount: want) : nil } catch {
            close()
            throw DatasetError(file: path, "read failed: \(error)")
        }
        if let data, !data.isEmpty {
            remaining? -= data.count
            return data
        }
        close()
        return nil
    }

    /// Stops early (or at the end): closes the file unless it belongs to the caller.
    func close() {
        guard !closed else { return }
        closed = true
        // The inflating thread reads `handle`: it stops before the handle closes.
        gzip?.stop()
        gzip = nil
        if ownsHandle { try? handle.close() }
    }
}
