import Foundation

/// What every fuzz target shares: a scratch directory for the input written as a file.
enum FuzzScratch {
    /// A directory of this process's own, emptied before each input.
    static let directory: String = {
        let dir = NSTemporaryDirectory() + "mmoe-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()

    /// Empties the scratch directory and writes `files` into it; returns the directory.
    static func write(_ files: [String: Data]) -> String {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            try? FileManager.default.removeItem(atPath: directory + "/" + name)
        }
        for (name, data) in files { _ = FileManager.default.createFile(atPath: directory + "/" + name, contents: data) }
        return directory
    }

    static func bytes(_ start: UnsafeRawPointer?, _ count: Int) -> Data {
        guard let start, count > 0 else { return Data() }
        return Data(bytes: start, count: count)
    }
}
