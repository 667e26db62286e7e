import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The directories a training run writes: checked before anything is loaded or trained (so a
/// path that cannot be written is found at once, naming its flag), and locked while the run
/// writes them (so two runs never share one).
extension TrainCommand {
    /// Each directory the run writes, with the flag that names it (one entry per distinct path).
    func outputDirectories(_ o: TrainOptions) -> [(flag: String, path: String)] {
        var list: [(String, String)] = [("--output_dir", o.outputDir)]
        if let p = o.modelSaveDir { list.append(("--model_save_dir", p)) }
        if let p = o.checkpoint { list.append(("--checkpoint", p)) }
        if let p = o.persistentPath, o.embeddingStoreDirectory == p { list.append(("--persistent_path", p)) }
        var seen = Set<String>()
        return list.filter { seen.insert(Self.canonical($0.1)).inserted }
    }

    static func canonical(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

    /// Refuses (exit 2, naming the flag) an output directory that is a file, lies under a file, or
    /// cannot be created or written in. Nothing is left behind: the check creates and removes a
    /// probe directory in the directory itself or, when it does not exist yet, in its nearest
    /// existing ancestor.
    func checkOutputDirectories(_ o: TrainOptions) throws(UsageError) {
        for (flag, path) in outputDirectories(o) { try Self.checkWritableDirectory(path, flag: flag) }
    }

    static func checkWritableDirectory(_ path: String, flag: String) throws(UsageError) {
        var isDirectory: ObjCBool = false
        var existing = canonical(path)
        while !FileManager.default.fileExists(atPath: existing, isDirectory: &isDirectory) {
            let parent = (existing as NSString).deletingLastPathComponent
            guard parent != existing, !parent.isEmpty else { break }
            existing = parent
        }
        guard isDirectory.boolValue else {
            throw UsageError(existing == canonical(path) ? "\(flag) \(path): exists and is not a directory"
                                                         : "\(flag) \(path): \(existing) is not a directory, so the directory cannot be created")
        }
        // Unique per call, not only per process: ranks run as threads of one process in tests.
        let probe = (existing as NSString).appendingPathComponent(".mmoe-write-check-\(getpid())-\(UUID().uuidString.prefix(8))")
        guard mkdir(probe, 0o700) == 0 else {
            let why = String(cString: strerror(errno))
            throw UsageError("\(flag) \(path): cannot " + (existing == canonical(path) ? "write in the directory" : "create the directory in \(existing)") + ": \(why)")
        }
        rmdir(probe)
    }

    /// Creates `path` and locks it for this run (`DirectoryLock`), naming `flag` when another run
    /// holds it.
    static func lockDirectory(_ path: String, flag: String) throws(UsageError) -> DirectoryLock {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw UsageError("\(flag) \(path): cannot create the directory: \(error.localizedDescription)")
        }
        do { return try DirectoryLock(directory: path) } catch { throw UsageError("\(flag) \(error)") }
    }
}
