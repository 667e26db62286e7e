extension ChunkReader {
    /// Longest line accepted; a file without line breaks (not a text data file) stops here instead of
    /// growing the buffer without bound.
    static let maxLineBytes = 16 << 20

    /// Calls `body` with each line (without its `\n` or `\r\n`) as a range of `bytes`, and the line's
    /// 1-based number; empty lines are passed too, so numbers match an editor's. `body` returns false
    /// to stop reading early. A last line without a final line break is still passed. `firstNumber`
    /// is the number of the first line read: more than 1 when the reader starts inside the file.
    func forEachLine(firstNumber: Int = 1, _ body: (_ bytes: [UInt8], _ line: Range<Int>, _ number: Int) throws(DatasetError) -> Bool) throws(DatasetError) {
        defer { close() }
        var buffer: [UInt8] = []  // the unfinished last line of the previous chunk, then the new chunk
        var number = firstNumber - 1
        var scanned = 0  // bytes of `buffer` already searched for a line break
        while let chunk = try read() {
            buffer.append(contentsOf: chunk)
            var start = 0
            var i = scanned
            let n = buffer.count
            while i < n {
                if buffer[i] == 0x0A {
                    number += 1
                    let end = i > start && buffer[i - 1] == 0x0D ? i - 1 : i
                    guard try body(buffer, start ..< end, number) else { return }
                    start = i + 1
                }
                i += 1
            }
            buffer.removeSubrange(0 ..< start)
            scanned = buffer.count
            if buffer.count > Self.maxLineBytes {
                throw DatasetError(file: path, line: number + 1, "line longer than \(Self.maxLineBytes >> 20) MiB; not a text data file?")
            }
        }
        if !buffer.isEmpty {
            let end = buffer.last == 0x0D ? buffer.count - 1 : buffer.count
            _ = try body(buffer, 0 ..< end, number + 1)
        }
    }
}
