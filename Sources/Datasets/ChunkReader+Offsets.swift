import Foundation

/// Byte positions of lines in a plain file, so that loaders sharing one file can each take the lines
/// starting in their own byte range and still report true line numbers.
extension ChunkReader {
    /// Size of the file at `path` in bytes.
    static func fileSize(path: String) throws(DatasetError) -> Int {
        let attributes: [FileAttributeKey: Any]
        do { attributes = try FileManager.default.attributesOfItem(atPath: path) } catch {
            throw DatasetError(file: path, "cannot open the file for reading")
        }
        guard let size = (attributes[.size] as? NSNumber)?.intValue else {
            throw DatasetError(file: path, "cannot find the file's size")
        }
        return size
    }

    /// The offset of the first line that starts at or after `offset`: `offset` itself when it is 0
    /// or follows a `\n`, else one past the next `\n`; `size` when no line starts there.
    static func lineStart(path: String, atOrAfter offset: Int, size: Int) throws(DatasetError) -> Int {
        guard offset > 0 else { return 0 }
        guard offset < size else { return size }
        // Lines are short, so a small first read usually finds the break.
        let reader = try ChunkReader(path: path, chunkSize: 1 << 16, byteRange: offset - 1 ..< size)
        defer { reader.close() }
        var position = offset - 1  // file offset of the chunk's first byte
        while let chunk = try reader.read() {
            if let i = chunk.firstIndex(of: 0x0A) { return position + i + 1 }
            position += chunk.count
        }
        return size
    }

    /// Number of `\n` bytes before `offset`, i.e. the lines ended before it.
    static func newlines(path: String, before offset: Int) throws(DatasetError) -> Int {
        try newlines(path: path, before: [offset])[0]
    }

    /// Number of `\n` bytes before each of `offsets` (ascending), in one pass over the file up to
    /// the last of them.
    static func newlines(path: String, before offsets: [Int]) throws(DatasetError) -> [Int] {
        precondition(zip(offsets, offsets.dropFirst()).allSatisfy { $0 <= $1 }, "ChunkReader.newlines: offsets must ascend")
        guard let last = offsets.last, last > 0 else { return offsets.map { _ in 0 } }
        let reader = try ChunkReader(path: path, byteRange: 0 ..< last)
        defer { reader.close() }
        var counts: [Int] = [], count = 0, position = 0, next = 0
        while next < offsets.count && offsets[next] <= 0 { counts.append(0); next += 1 }
        while let chunk = try reader.read() {
            for byte in chunk {
                if byte == 0x0A { count += 1 }
                position += 1
                while next < offsets.count && offsets[next] == position { counts.append(count); next += 1 }
            }
        }
        while next < offsets.count { counts.append(count); next += 1 }
        return counts
    }
}
