/// A full save of any `RowStorage` to one file, with named UInt64 arrays beside the records (an
/// embedding store's admission-filter counters, eviction clocks): OneFlow's `cached_host_mem`
/// persistence (the table lives in RAM and is saved under `--persistent_path` at each save, so a
/// later run resumes from it) and the checkpoint of an EV table.
///
/// The file is `[magic "MMOESNAP", version, width, recordCountLo, recordCountHi, 0, 0]`, then each
/// record as `[keyLo, keyHi, values...]`, the named arrays, and `[crc, "SNP!"]`, CRC-32C over
/// everything before it, all little-endian 32-bit words. It is written to `path.partial`,
/// fsynced, renamed over `path` and the directory fsynced, so a crash leaves the previous
/// snapshot or the new one. Loading checks the whole file before touching the storage, so a bad
/// file leaves the storage empty and says which file and what is wrong.
public enum RowSnapshot {
    static let magic = RowWords.magic("MMOESNAP")
    static let end: UInt32 = 0x2150_4E53  // "SNP!"
    static let version: UInt32 = 1
    static let headerWords = 8

    /// Saves every record of `storage` and `arrays` to `path`, atomically. Records are scanned in
    /// chunks, so memory stays small whatever the table's size.
    public static func save(_ storage: any RowStorage, arrays: [String: [UInt64]] = [:], to path: String) throws(RowStorageError) {
        let width = storage.width, expected = storage.count
        try RowWords.writeAtomically(path, endMagic: end) { (w: inout WordWriter) throws(RowStorageError) in
            try w.append(magic.0)
            try w.append(magic.1)
            try w.append(version)
            try w.append(UInt32(width))
            try w.append(UInt64(expected))
            try w.append(UInt64(0))
            var written = 0
            do {
                try storage.scan(chunk: 4096) { keys, records in
                    for (i, key) in keys.enumerated() {
                        try w.append(key)
                        try w.append(floats: records, from: i * width, count: width)
                    }
                    written += keys.count
                }
            } catch let error as RowStorageError {
                throw error
            } catch {
                throw RowStorageError("\(path): saving failed while scanning the storage: \(error)")
            }
            guard written == expected else {
                throw RowStorageError("\(path): the storage reported \(expected) records but scanning gave \(written)")
            }
            try RowWords.encode(arrays: arrays, into: &w)
        }
    }

    /// Loads the snapshot at `path` into `storage`, which must be empty and of the snapshot's
    /// width, and returns the named arrays saved with it. The file is checked whole (size, end
    /// marker, checksum, structure) before the first record is written.
    ///
    /// `keeping`: only the records whose key it accepts are written (a shard of a table re-hashed
    /// over another rank count); `merging`: the storage may already hold records (of other shard
    /// files, whose keys are disjoint from this file's).
    @discardableResult
    public static func load(into storage: any RowStorage, from path: String, keeping: ((UInt64) -> Bool)? = nil,
                            merging: Bool = false) throws(RowStorageError) -> [String: [UInt64]] {
        let file = try RowFile(path, .readOnly)
        let what = "row snapshot"
        let words = try RowWords.wordCount(file, what: what)
        var head = [UInt32](repeating: 0, count: headerWords)
        let got = try file.read(into: &head, count: min(words, headerWords), at: 0)
        guard got >= 2, head[0] == magic.0, head[1] == magic.1 else {
            throw RowStorageError("\(path): not a row snapshot (foreign file: wrong magic number)")
        }
        guard got == headerWords else { throw RowStorageError("\(path): \(what) is truncated (\(words * 4) bytes, not even a header)") }
        guard head[2] == version else { throw RowStorageError("\(path): \(what) of format version \(head[2]); this build reads version \(version)") }
        try RowWords.verifyTrailer(file, words: words, endMagic: end, what: what)
        let width = Int(head[3])
        guard width == storage.width else {
            throw RowStorageError("\(path): records of width \(width), but the storage has width \(storage.width)")
        }
        guard storage.count == 0 || merging else { throw RowStorageError("\(path): can only be loaded into an empty storage (it holds \(storage.count) records)") }
        let recordWords = 2 + width
        let count = Int(exactly: RowWords.join(head[4], head[5])) ?? Int.max
        guard count <= (words - headerWords) / recordWords else {
            throw RowStorageError("\(path): \(what) is damaged (\(count) records do not fit in \(words * 4) bytes)")
        }
        let arraysStart = headerWords + count * recordWords
        var section = [UInt32](repeating: 0, count: words - 2 - arraysStart)
        try file.read(into: &section, count: section.count, at: arraysStart * 4)
        let arrays = try RowWords.decodeArrays(section, from: 0, to: section.count, file: path)

        let run = 4096
        var buffer = [UInt32](repeating: 0, count: run * recordWords)
        var keys: [UInt64] = [], records: [Float] = []
        keys.reserveCapacity(run)
        records.reserveCapacity(run * width)
        var done = 0
        while done < count {
            let n = min(run, count - done)
            try file.read(into: &buffer, count: n * recordWords, at: (headerWords + done * recordWords) * 4)
            keys.removeAll(keepingCapacity: true)
            records.removeAll(keepingCapacity: true)
            for k in 0..<n {
                let at = k * recordWords
                let key = RowWords.join(buffer[at], buffer[at + 1])
                if let keeping, !keeping(key) { continue }
                keys.append(key)
                for j in 0..<width { records.append(Float(bitPattern: buffer[at + 2 + j])) }
            }
            if !keys.isEmpty { try storage.write(keys, records) }
            done += n
        }
        return arrays
    }

    /// The CRC-32C a snapshot file at `path` ends with (the checksum of everything before it), read
    /// without checking the file: what a checkpoint records to name exactly this file.
    public static func checksum(at path: String) throws(RowStorageError) -> UInt32 {
        let file = try RowFile(path, .readOnly)
        let words = try RowWords.wordCount(file, what: "row snapshot")
        var tail = [UInt32](repeating: 0, count: 2)
        guard words >= headerWords + 2, try file.read(into: &tail, count: 2, at: (words - 2) * 4) == 2, tail[1] == end else {
            throw RowStorageError("\(path): row snapshot is truncated or incomplete (its end marker is missing)")
        }
        return tail[0]
    }
}
