/// Word-level building blocks shared by the row files (`FileRowStorage`'s data file and commit
/// log, `RowSnapshot`): a buffered writer that checksums as it goes, the checksum trailer, the
/// encoding of named UInt64 arrays, and an atomic "write a temporary, fsync, rename, fsync the
/// directory" helper.
///
/// Every file ends in `[crc, endMagic]`, the CRC-32C of all words before `crc`. A file that
/// lacks the end word was cut short; one whose CRC differs was damaged.
struct WordWriter {
    let file: RowFile
    /// Words already in the file.
    private(set) var written = 0
    private var buffer: [UInt32] = []
    private var crc = CRC32C()
    private static let flushWords = 1 << 18  // 1 MiB

    init(_ file: RowFile) {
        self.file = file
        buffer.reserveCapacity(WordWriter.flushWords + 1024)
    }

    /// Words written so far, in the file and buffered.
    var position: Int { written + buffer.count }

    mutating func append(_ word: UInt32) throws(RowStorageError) {
        buffer.append(word)
        if buffer.count >= WordWriter.flushWords { try flush() }
    }

    mutating func append(_ value: UInt64) throws(RowStorageError) {
        buffer.append(UInt32(truncatingIfNeeded: value))
        buffer.append(UInt32(truncatingIfNeeded: value >> 32))
        if buffer.count >= WordWriter.flushWords { try flush() }
    }

    mutating func append(_ words: [UInt32], from start: Int = 0, count: Int) throws(RowStorageError) {
        buffer.append(contentsOf: words[start..<(start + count)])
        if buffer.count >= WordWriter.flushWords { try flush() }
    }

    mutating func append(floats: [Float], from start: Int, count: Int) throws(RowStorageError) {
        for i in start..<(start + count) { buffer.append(floats[i].bitPattern) }
        if buffer.count >= WordWriter.flushWords { try flush() }
    }

    mutating func flush() throws(RowStorageError) {
        guard !buffer.isEmpty else { return }
        crc.update(buffer, from: 0, count: buffer.count)
        try file.write(buffer, count: buffer.count, at: written * 4)
        written += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }

    /// Appends `[crc, endMagic]`, writes everything out and fsyncs the file.
    mutating func finish(endMagic: UInt32) throws(RowStorageError) {
        try flush()
        let trailer = [crc.value, endMagic]
        try file.write(trailer, count: 2, at: written * 4)
        written += 2
        try file.sync()
    }
}

enum RowWords {
    /// Two words, low first.
    static func split(_ v: UInt64) -> (UInt32, UInt32) { (UInt32(truncatingIfNeeded: v), UInt32(truncatingIfNeeded: v >> 32)) }
    static func join(_ lo: UInt32, _ hi: UInt32) -> UInt64 { UInt64(lo) | UInt64(hi) << 32 }

    /// Eight ASCII characters as the two words a little-endian file holds them in, so the file
    /// starts with the readable text.
    static func magic(_ text: StaticString) -> (UInt32, UInt32) {
        precondition(text.utf8CodeUnitCount == 8)
        var v: UInt64 = 0
        text.withUTF8Buffer { for (i, b) in $0.enumerated() { v |= UInt64(b) << (8 * UInt64(i)) } }
        return split(v)
    }

    /// Checks the `[crc, endMagic]` trailer of a whole file of `words` words: the CRC-32C of every
    /// word before `crc`, read back in 1 MiB chunks. The error says whether the file was cut short
    /// (no end marker) or damaged (checksum).
    static func verifyTrailer(_ file: RowFile, words: Int, endMagic: UInt32, what: String) throws(RowStorageError) {
        var tail = [UInt32](repeating: 0, count: 2)
        guard words >= 2, try file.read(into: &tail, count: 2, at: (words - 2) * 4) == 2, tail[1] == endMagic else {
            throw RowStorageError("\(file.path): \(what) is truncated or incomplete (its end marker is missing)")
        }
        var crc = CRC32C()
        let chunk = 1 << 18
        var buffer = [UInt32](repeating: 0, count: chunk)
        var at = 0
        while at < words - 2 {
            let n = min(chunk, words - 2 - at)
            guard try file.read(into: &buffer, count: n, at: at * 4) == n else {
                throw RowStorageError("\(file.path): \(what) is truncated (shorter than it was a moment ago)")
            }
            crc.update(buffer, from: 0, count: n)
            at += n
        }
        guard crc.value == tail[0] else {
            throw RowStorageError("\(file.path): \(what) is corrupt (checksum mismatch: stored \(hex(tail[0])), computed \(hex(crc.value)))")
        }
    }

    static func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }

    /// The size of a file in whole words; an error if it holds a partial word.
    static func wordCount(_ file: RowFile, what: String) throws(RowStorageError) -> Int {
        let bytes = try file.size()
        guard bytes % 4 == 0 else { throw RowStorageError("\(file.path): \(what) is truncated (\(bytes) bytes, not a whole number of words)") }
        return bytes / 4
    }

    // MARK: - Named UInt64 arrays

    /// `[arrayCount, then per array (sorted by name): nameBytes, name (UTF-8, zero-padded to
    /// whole words), countLo, countHi, values (two words each)]`.
    static func encode(arrays: [String: [UInt64]], into writer: inout WordWriter) throws(RowStorageError) {
        try writer.append(UInt32(arrays.count))
        for name in arrays.keys.sorted() {
            let bytes = Array(name.utf8)
            try writer.append(UInt32(bytes.count))
            var word: UInt32 = 0
            for (i, b) in bytes.enumerated() {
                word |= UInt32(b) << (8 * UInt32(i % 4))
                if i % 4 == 3 { try writer.append(word); word = 0 }
            }
            if bytes.count % 4 != 0 { try writer.append(word) }
            let values = arrays[name]!
            try writer.append(UInt64(values.count))
            for v in values { try writer.append(v) }
        }
    }

    /// Decodes what `encode(arrays:)` wrote from `words[start ..< end]`, which it must fill exactly.
    static func decodeArrays(_ words: [UInt32], from start: Int, to end: Int, file: String) throws(RowStorageError) -> [String: [UInt64]] {
        func bad(_ why: String) -> RowStorageError { RowStorageError("\(file): damaged named arrays: \(why)") }
        var at = start
        func take() throws(RowStorageError) -> UInt32 {
            guard at < end else { throw bad("they run past their section") }
            at += 1
            return words[at - 1]
        }
        var result: [String: [UInt64]] = [:]
        let arrayCount = try take()
        for _ in 0..<arrayCount {
            let nameBytes = Int(try take())
            guard nameBytes <= (end - at) * 4 else { throw bad("a name of \(nameBytes) bytes runs past the section") }
            var bytes: [UInt8] = []
            for i in 0..<nameBytes {
                if i % 4 == 0 { _ = try take() }
                bytes.append(UInt8(truncatingIfNeeded: words[at - 1] >> (8 * UInt32(i % 4))))
            }
            guard let name = String(validating: bytes, as: UTF8.self) else { throw bad("a name is not UTF-8") }
            let lo = try take(), hi = try take()
            let n = join(lo, hi)
            guard n <= UInt64((end - at) / 2) else { throw bad("'\(name)' claims \(n) values, more than the section holds") }
            var values = [UInt64](repeating: 0, count: Int(n))
            for i in 0..<Int(n) { values[i] = join(words[at + 2 * i], words[at + 2 * i + 1]) }
            at += 2 * Int(n)
            guard result.updateValue(values, forKey: name) == nil else { throw bad("'\(name)' appears twice") }
        }
        guard at == end else { throw bad("\(end - at) words left over after the last array") }
        return result
    }

    // MARK: - Atomic replacement

    /// Writes `path` through `path.partial`: `body` appends the contents, the trailer is added,
    /// the file fsynced, renamed over `path` and the directory fsynced. A crash at any moment leaves
    /// either the old `path` or the new one, never a mix; a left-over `.partial` is garbage.
    static func writeAtomically(_ path: String, endMagic: UInt32, _ body: (inout WordWriter) throws(RowStorageError) -> Void) throws(RowStorageError) {
        let partial = path + ".partial"
        do throws(RowStorageError) {
            var writer = WordWriter(try RowFile(partial, .create))
            try body(&writer)
            try writer.finish(endMagic: endMagic)
        } catch {
            try? RowFile.remove(partial)
            throw error
        }
        try RowFile.renameDurably(partial, to: path)
    }
}
