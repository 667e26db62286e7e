extension Taobao {
    /// Data lines in the file: lines with anything but spaces, tabs and carriage returns, which are
    /// exactly the lines `read` parses. Scans the bytes without parsing them, so an epoch length
    /// (DeepRec's "--steps 0 means 1000 epochs" rule) costs a fraction of a read.
    public static func countRows(path: String) throws(DatasetError) -> Int {
        let reader = try ChunkReader(path: path)
        defer { reader.close() }
        var rows = 0
        var content = false  // the current line has a non-blank byte
        while let chunk = try reader.read() {
            for byte in chunk {
                if byte == 0x0A {
                    if content { rows += 1 }
                    content = false
                } else if byte != 0x20 && byte != 0x09 && byte != 0x0D {
                    content = true
                }
            }
        }
        return content ? rows + 1 : rows
    }

    /// `count` consecutive byte ranges covering the file, each cut at a line start, for loader
    /// threads sharing one file (DeepRec's `--workqueue`): pass each to `read(byteRange:)`. Cuts
    /// are near equal shares of the bytes; a range is empty when a line is longer than a share.
    /// Plain files only, since a gzip stream cannot be entered in the middle.
    public static func slices(path: String, count: Int) throws(DatasetError) -> [Range<Int>] {
        precondition(count > 0, "Taobao.slices: count must be positive, got \(count)")
        guard !path.hasSuffix(".gz") else {
            throw DatasetError(file: path, "cannot cut a gzip-compressed file into byte ranges; decompress it first")
        }
        let size = try ChunkReader.fileSize(path: path)
        var cuts = [0]
        for k in 1 ..< count {
            cuts.append(try ChunkReader.lineStart(path: path, atOrAfter: size / count * k + size % count * k / count, size: size))
        }
        cuts.append(size)
        return (0 ..< count).map { cuts[$0] ..< cuts[$0 + 1] }
    }

    /// `slices(path:count:)` with each slice's first line number, all found in one pass over the
    /// file. Reading a slice through `read(path:slice:)` then never rescans the bytes before it,
    /// which a bare byte range must do to report true line numbers.
    public static func fileSlices(path: String, count: Int) throws(DatasetError) -> [FileSlice] {
        let ranges = try slices(path: path, count: count)
        let lines = try ChunkReader.newlines(path: path, before: ranges.map(\.lowerBound))
        return zip(ranges, lines).map { FileSlice(bytes: $0, firstLine: $1 + 1) }
    }
}

/// A byte range of a plain file cut at line starts, with the number of its first line.
public struct FileSlice: Sendable, Equatable {
    /// The byte range in the file; it starts at a line start.
    public let bytes: Range<Int>
    /// 1-based line number of the first line starting in `bytes`.
    public let firstLine: Int

    public init(bytes: Range<Int>, firstLine: Int) {
        self.bytes = bytes
        self.firstLine = firstLine
    }
}
