import Foundation

/// The fault-injection seam of the file layer (issue 19): every write, fsync and rename made by a
/// checkpoint save (`AtomicFile`) and a row-store commit (`RowFile`) asks `FileFaults.fails` first,
/// so a test can make the n-th of them fail and check that the previous state is still loadable.
/// Off unless a test turns it on; then it costs one counter step per operation.
enum FileFaults {
    /// Operations counted since `arm`; the one numbered `failing` (0-based) fails. nil: count only.
    nonisolated(unsafe) static var failing: Int?
    /// When set, the first operation whose description contains it fails (whatever its number:
    /// the operations of ranks on threads interleave in no fixed order); ending in `$`, the first
    /// whose description ends with the rest (`rename <dir>/a.rows$` is not `rename <dir>/a.rows.partial`).
    nonisolated(unsafe) static var failingMatch: String?
    /// Matches of `failingMatch` let through before the one that fails.
    nonisolated(unsafe) static var matchesToSkip = 0
    nonisolated(unsafe) private(set) static var operations: [String] = []
    nonisolated(unsafe) private static var armed = false
    private static let lock = NSLock()

    /// Starts counting operations (and failing the one numbered `failAt`, or the match of
    /// `failMatching` after `skippingMatches` of them).
    static func arm(failAt: Int?, failMatching match: String? = nil, skippingMatches skip: Int = 0) {
        lock.lock(); defer { lock.unlock() }
        failing = failAt
        failingMatch = match
        matchesToSkip = skip
        operations = []
        armed = true
    }

    static func disarm() {
        lock.lock(); defer { lock.unlock() }
        armed = false
        failing = nil
        failingMatch = nil
    }

    /// Whether `operation` (e.g. "write /path") is to fail as an injected fault.
    static func fails(_ operation: String) -> Bool {
        guard armed else { return false }
        lock.lock(); defer { lock.unlock() }
        operations.append(operation)
        if let match = failingMatch, match.hasSuffix("$") ? operation.hasSuffix(match.dropLast()) : operation.contains(match) {
            if matchesToSkip > 0 {
                matchesToSkip -= 1
                return false
            }
            failingMatch = nil
            return true
        }
        return failing == operations.count - 1
    }
}
