import Foundation

/// Where a reader takes its lines from: a file by path (inflated by `GzipDecoder` when the
/// name ends in `.gz`), or an open stream such as standard input. Either way the lines are read in
/// bounded chunks, never the whole input at once.
public enum DataInput {
    case file(String)
    /// An open stream, read to its end and left open; `name` stands for the file in errors.
    case stream(FileHandle, name: String)

    /// The process's standard input, named "stdin" in errors.
    public static var standardInput: DataInput { .stream(.standardInput, name: "stdin") }

    /// The path, or the stream's name: what errors about this input name as the file.
    public var name: String {
        switch self {
        case .file(let path): path
        case .stream(_, let name): name
        }
    }

    func open() throws(DatasetError) -> ChunkReader {
        switch self {
        case .file(let path): try ChunkReader(path: path)
        case .stream(let handle, let name): ChunkReader(handle: handle, name: name)
        }
    }
}

/// Runs a reader's `scan`, which hands chunks to a body that cannot throw (so the reader's own
/// errors keep their type), with `body`, which may: an error `body` throws stops the scan and is
/// rethrown unchanged.
func scanCarryingErrors(_ body: (TabularData) throws -> Bool,
                        _ scan: (_ deliver: (TabularData) -> Bool) throws(DatasetError) -> Void) throws {
    var bodyError: (any Error)?
    try withoutActuallyEscaping(body) { body throws(DatasetError) in
        try scan { chunk in
            do { return try body(chunk) } catch {
                bodyError = error
                return false
            }
        }
    }
    if let bodyError { throw bodyError }
}

extension DataInput {
    /// Reads the input to its end (inflating a `.gz` file) and returns how many bytes it held:
    /// the data path's raw speed, for benchmarks.
    public func decompressedByteCount() throws(DatasetError) -> Int {
        let reader = try open()
        var total = 0
        while let chunk = try reader.read() { total += chunk.count }
        return total
    }
}

extension DataInput {
    /// Hands `body` the input's bytes chunk by chunk (a `.gz` file inflated): for benchmarks that
    /// copy a file.
    public func forEachChunkForBench(_ body: ([UInt8]) -> Void) throws(DatasetError) {
        let reader = try open()
        while let chunk = try reader.read() { body(chunk) }
    }
}
