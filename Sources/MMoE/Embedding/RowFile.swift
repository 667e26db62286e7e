#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open file read and written in little-endian 32-bit words at explicit offsets (pread/pwrite),
/// for the row stores. Every failure is a `RowStorageError` naming the file and the OS's reason.
///
/// The only unsafe code of the embedding backends lives in `read` and `write`: the array's memory
/// is handed to pread/pwrite for the duration of one call, after the bounds are checked.
/// Whole words only; all offsets are in bytes. Not safe to share between threads.
final class RowFile {
    let path: String
    private let fd: Int32

    enum Mode { case readOnly, readWrite, create }

    init(_ path: String, _ mode: Mode) throws(RowStorageError) {
        self.path = path
        let flags: Int32
        switch mode {
        case .readOnly: flags = O_RDONLY
        case .readWrite: flags = O_RDWR
        case .create: flags = O_RDWR | O_CREAT | O_TRUNC
        }
        let fd = open(path, flags | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RowFile.failure(path, "cannot open") }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Bytes in the file now.
    func size() throws(RowStorageError) -> Int {
        let end = lseek(fd, 0, SEEK_END)
        guard end >= 0 else { throw RowFile.failure(path, "cannot find the size") }
        return Int(end)
    }

    /// Reads `count` words at byte `offset` into `words[start...]`; returns the words read, fewer
    /// only at the end of the file.
    @discardableResult
    func read(into words: inout [UInt32], start: Int = 0, count: Int, at offset: Int) throws(RowStorageError) -> Int {
        precondition(start >= 0 && count >= 0 && start + count <= words.count, "RowFile.read: \(count) words at \(start) into \(words.count)")
        let fd = self.fd
        let (done, failed) = words.withUnsafeMutableBytes { raw in
            RowFile.loop(bytes: count * 4) { done, left in pread(fd, raw.baseAddress! + start * 4 + done, left, off_t(offset + done)) }
        }
        if failed { throw RowFile.failure(path, "read failed") }
        guard done % 4 == 0 else { throw RowStorageError("\(path): ends inside a word (truncated)") }
        return done / 4
    }

    /// Writes `words[start ..< start + count]` at byte `offset`, all of it or an error.
    func write(_ words: [UInt32], start: Int = 0, count: Int, at offset: Int) throws(RowStorageError) {
        precondition(start >= 0 && count >= 0 && start + count <= words.count, "RowFile.write: \(count) words at \(start) from \(words.count)")
        if FileFaults.fails("write \(path)") { throw RowStorageError("\(path): write failed: injected fault") }
        let fd = self.fd
        let (done, failed) = words.withUnsafeBytes { raw in
            RowFile.loop(bytes: count * 4) { done, left in pwrite(fd, raw.baseAddress! + start * 4 + done, left, off_t(offset + done)) }
        }
        if failed { throw RowFile.failure(path, "write failed") }
        if done < count * 4 { throw RowStorageError("\(path): short write (\(done) of \(count * 4) bytes; disk full?)") }
    }

    /// Calls `io(done, left)` (one pread or pwrite at byte `done`) until `bytes` are moved, the file
    /// ends (0) or it fails (-1, EINTR retried). The closures above are the only code here that
    /// holds a raw pointer, and only for the duration of one call.
    private static func loop(bytes: Int, _ io: (_ done: Int, _ left: Int) -> Int) -> (done: Int, failed: Bool) {
        var done = 0
        while done < bytes {
            let n = io(done, bytes - done)
            if n < 0 {
                if errno == EINTR { continue }
                return (done, true)
            }
            if n == 0 { break }
            done += n
        }
        return (done, false)
    }

    /// Flushes the file's data and size to the device (fsync).
    func sync() throws(RowStorageError) {
        if FileFaults.fails("fsync \(path)") { throw RowStorageError("\(path): fsync failed: injected fault") }
        guard fsync(fd) == 0 else { throw RowFile.failure(path, "fsync failed") }
    }

    func truncate(toBytes size: Int) throws(RowStorageError) {
        guard ftruncate(fd, off_t(size)) == 0 else { throw RowFile.failure(path, "cannot resize to \(size) bytes") }
    }

    /// Takes an exclusive advisory lock, so a second process opening the same store fails cleanly
    /// instead of the two corrupting each other's commits.
    func lockExclusively() throws(RowStorageError) {
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            throw RowFile.failure(path, "is in use by another process (cannot lock it)")
        }
    }

    static func failure(_ path: String, _ what: String) -> RowStorageError {
        RowStorageError("\(path): \(what): \(String(cString: strerror(errno)))")
    }

    // MARK: - Directory operations used by atomic replacement

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Renames `from` to `to` atomically (replacing `to`), then fsyncs the directory so the new
    /// name survives a power cut.
    static func renameDurably(_ from: String, to: String) throws(RowStorageError) {
        if FileFaults.fails("rename \(from)") { throw RowStorageError("\(to): cannot rename \(from) to it: injected fault") }
        guard rename(from, to) == 0 else { throw failure(to, "cannot rename \(from) to it") }
        try syncDirectory(of: to)
    }

    static func remove(_ path: String) throws(RowStorageError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw failure(path, "cannot delete") }
    }

    static func syncDirectory(of path: String) throws(RowStorageError) {
        let dir = directory(of: path)
        if FileFaults.fails("fsync \(dir)/") { throw RowStorageError("\(dir): directory fsync failed: injected fault") }
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(dir, "cannot open directory to fsync it") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw failure(dir, "directory fsync failed") }
    }

    static func makeDirectory(_ path: String) throws(RowStorageError) {
        var built = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            built += "/" + part
            if mkdir(built, 0o755) != 0 && errno != EEXIST { throw failure(built, "cannot create directory") }
        }
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
