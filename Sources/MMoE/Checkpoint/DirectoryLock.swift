import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A directory another run holds.
public struct DirectoryLockError: Error, CustomStringConvertible {
    public let directory: String
    /// The holder's process id, as it wrote it in the lock file (nil when unreadable).
    public let holder: Int32?
    public let reason: String
    public var description: String { "\(directory): \(reason)" }
}

/// An exclusive claim on a directory a run writes (a checkpoint directory, an embedding store, an
/// output directory): `flock` on `<directory>/.lock`, which holds the owner's pid for the message
/// a second run gets. The kernel drops the lock when the process ends, however it ends, so a
/// crashed run leaves nothing to clean up; the file itself stays (hidden, ignored by readers).
/// Locks conflict between processes and between two `DirectoryLock`s of one process alike.
public final class DirectoryLock {
    public static let fileName = ".lock"
    public let directory: String
    private var fd: Int32

    public init(directory: String) throws(DirectoryLockError) {
        self.directory = directory
        let path = (directory as NSString).appendingPathComponent(Self.fileName)
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw DirectoryLockError(directory: directory, holder: nil, reason: "cannot open the lock file \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let why = errno
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buffer, buffer.count, 0)
            close(fd)
            fd = -1
            let holder = n > 0 ? Int32(String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) : nil
            guard why == EWOULDBLOCK else {
                throw DirectoryLockError(directory: directory, holder: nil, reason: "cannot lock \(path): \(String(cString: strerror(why)))")
            }
            throw DirectoryLockError(directory: directory, holder: holder,
                                     reason: "in use by another run (" + (holder.map { "pid \($0)" } ?? "pid unknown") + ", holding \(path)); "
                                         + "wait for it to end, or give another directory")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, pid, pid.count, 0)
    }

    /// Releases the lock now (it is released at deinit otherwise).
    public func release() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
    }

    deinit { release() }
}
