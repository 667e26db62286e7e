import Foundation

/// Where a schema'd run's files are: `train.*`/`test.*`/`valid.*` (`.csv`, `.tsv`, `.txt`, each
/// optionally `.gz`, or `.parquet`) or `train/`, `test/`, `valid/` folders of such files in a data
/// directory (a Spark folder's `_SUCCESS` and `.crc` files are ignored), or
/// explicit comma-separated lists of paths and globs (`--train_files`).
public enum SchemaFiles {
    /// The extensions a data file may have.
    public static let extensions = [".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz", ".parquet"]

    /// The files of split `name` (`train`, `test`, `valid`) in `directory`: `name` plus one of
    /// `extensions`, or the data files in a folder `name/`, sorted by name; empty when neither is there.
    public static func split(_ name: String, in directory: String) throws(DatasetError) -> [String] {
        let manager = FileManager.default
        var found: [String] = []
        for ext in extensions {
            let path = (directory as NSString).appendingPathComponent(name + ext)
            var isDirectory: ObjCBool = false
            if manager.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue { found.append(path) }
        }
        let folder = (directory as NSString).appendingPathComponent(name)
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue {
            let names = (try? manager.contentsOfDirectory(atPath: folder)) ?? []
            found += names.filter { n in !n.hasPrefix(".") && extensions.contains { n.hasSuffix($0) } }.sorted()
                .map { (folder as NSString).appendingPathComponent($0) }
        }
        if found.count > 1, found.contains(where: { !$0.hasPrefix(folder + "/") }) {
            throw DatasetError(file: directory, "more than one \(name) data source: \(found.map { ($0 as NSString).lastPathComponent }.joined(separator: ", ")); keep one")
        }
        return found
    }

    /// The files named by `list`: comma-separated paths or globs (`*`, `?` in the file name part),
    /// in the order given, each glob's matches sorted. A path that does not exist, or a glob that
    /// matches nothing, is an error naming `flag`.
    public static func expand(_ list: String, flag: String) throws(DatasetError) -> [String] {
        var paths: [String] = []
        let items = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !items.isEmpty else { throw DatasetError(file: flag, "no files given") }
        for item in items {
            if item.contains("*") || item.contains("?") {
                let directory = (item as NSString).deletingLastPathComponent
                let pattern = (item as NSString).lastPathComponent
                let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)) ?? []
                let found = names.filter { !$0.hasPrefix(".") && Self.matches(Array($0.utf8), Array(pattern.utf8)) }.sorted()
                guard !found.isEmpty else { throw DatasetError(file: item, "\(flag): the pattern matches no file") }
                paths += found.map { directory.isEmpty ? $0 : (directory as NSString).appendingPathComponent($0) }
            } else {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: item, isDirectory: &isDirectory) else {
                    throw DatasetError(file: item, "\(flag): no such file")
                }
                guard !isDirectory.boolValue else { throw DatasetError(file: item, "\(flag): is a directory; give files or a pattern such as \(item)/*.csv") }
                paths.append(item)
            }
        }
        return paths
    }

    /// Whether `name` matches the glob `pattern` (`*` any run, `?` one byte).
    static func matches(_ name: [UInt8], _ pattern: [UInt8]) -> Bool {
        var n = 0, p = 0, starP = -1, starN = 0
        while n < name.count {
            if p < pattern.count && (pattern[p] == UInt8(ascii: "?") || pattern[p] == name[n]) {
                n += 1; p += 1
            } else if p < pattern.count && pattern[p] == UInt8(ascii: "*") {
                starP = p; starN = n; p += 1
            } else if starP >= 0 {
                p = starP + 1; starN += 1; n = starN
            } else {
                return false
            }
        }
        while p < pattern.count && pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }
}
