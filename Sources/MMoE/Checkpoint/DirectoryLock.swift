import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A directory another run holds.
public struct DirectoryLockError: Error, CustomStringConvertible {
    public let directory: String
    /// The holder's process id (from `/proc/locks`; nil where that is not available).
    public let holder: Int32?
    public let reason: String
    public var description: String { "\(directory): \(reason)" }
}

/// An exclusive claim on a directory a run writes (a checkpoint directory, an embedding store, an
/// output directory): `flock` on the directory itself, so nothing is added to it. The kernel drops
/// the lock when the process ends, however it ends, so a crashed run leaves nothing to clean up.
/// A second claim, from another process or another `DirectoryLock` of this one, fails with the
/// holder's pid, read from `/proc/locks` on Linux.
public final class DirectoryLock {
    public let directory: String
    private var fd: Int32

    public init(directory: String) throws(DirectoryLockError) {
        self.directory = directory
        fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw DirectoryLockError(directory: directory, holder: nil, reason: "cannot open the directory to lock it: \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let why = errno
            var info = stat()
            let holder = fstat(fd, &info) == 0 ? Self.flockHolder(inode: UInt64(info.st_ino)) : nil
            close(fd)
            fd = -1
            guard why == EWOULDBLOCK else {
                throw DirectoryLockError(directory: directory, holder: nil, reason: "cannot lock the directory: \(String(cString: strerror(why)))")
            }
            throw DirectoryLockError(directory: directory, holder: holder,
                                     reason: "in use by another process (" + (holder.map { "pid \($0)" } ?? "pid unknown") + ", another run); "
                                         + "wait for it to end, or give another directory")
        }
    }

    /// The pid holding a `flock` on inode `inode`, from `/proc/locks` lines such as
    /// `1: FLOCK  ADVISORY  WRITE 25952 fe:00:16220535 0 EOF`.
    static func flockHolder(inode: UInt64) -> Int32? {
        guard let text = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 6, f[1] == "FLOCK", f[0].hasSuffix(":"), let pid = Int32(f[4]),
                  let node = f[5].split(separator: ":").last, UInt64(node) == inode else { continue }
            return pid
        }
        return nil
    }

    /// Releases the lock now (it is released at deinit otherwise).
    public func release() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
    }

    deinit { release() }
}
