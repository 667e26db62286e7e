import Tensor

/// Consecutive lines of an input, copied out of the reader's buffer so that several threads can
/// encode them at once: line i is `bytes[lines[i]]` (without its line break), numbered
/// `firstNumber + i`. Blank lines are kept, so the numbers stay those of the input.
struct LineBlock {
    var bytes: [UInt8] = []
    var lines: [Range<Int>] = []
    var firstNumber = 1
    /// The number of each line, when they are not consecutive (a CSV record that spans lines);
    /// nil: `firstNumber + i`.
    var numbers: [Int]? = nil
    /// Byte offset of the first line in the input, when the reader tracks it (CSV records).
    var offset = 0

    /// The number of line `i` of the block.
    func number(_ i: Int) -> Int { numbers?[i] ?? firstNumber + i }
}

/// A reader's per-line work: split a line, check it, encode it into rows collecting for one
/// `TabularData`. Each thread encoding part of a block has its own.
protocol LineEncoding {
    /// Rows collected since the last `take()`.
    var count: Int { get }
    /// Encodes the line `bytes[line]` (number `number` of `path`, for errors); false for a blank
    /// line, which adds no row. On an error the rows collected are not to be used.
    mutating func encode(_ bytes: [UInt8], _ line: Range<Int>, number: Int, path: String) throws(DatasetError) -> Bool
    /// The rows so far, leaving the encoding empty for the next rows.
    mutating func take() -> TabularData
}

extension ChunkReader {
    /// `forEachLine` in blocks of `count` lines (the last may be shorter; none is empty). `body`
    /// returns false to stop reading.
    func forEachLineBlock(count: Int, _ body: (LineBlock) throws(DatasetError) -> Bool) throws(DatasetError) {
        precondition(count > 0, "ChunkReader.forEachLineBlock: count must be positive, got \(count)")
        var block = LineBlock()
        var stopped = false
        try forEachLine { bytes, range, number throws(DatasetError) in
            if block.lines.isEmpty { block.firstNumber = number }
            let start = block.bytes.count
            block.bytes.append(contentsOf: bytes[range])
            block.lines.append(start ..< block.bytes.count)
            guard block.lines.count == count else { return true }
            let full = block
            block = LineBlock()
            guard try body(full) else { stopped = true; return false }
            return true
        }
        if !stopped, !block.lines.isEmpty { _ = try body(block) }
    }
}

/// The rows of `block`, encoded in consecutive shares of its lines at once (one per thread, at
/// least `minLines` lines each), each share by an encoding of its own from `make`, and joined in
/// line order: the same rows a serial read gives. Of several bad lines, the error of the earliest is
/// thrown, as a serial read would. nil when the block holds only blank lines.
func encodeInParallel<E: LineEncoding>(_ block: LineBlock, path: String, minLines: Int = 256, threads: Int = Parallel.threads,
                                       _ make: () -> E) throws(DatasetError) -> TabularData? {
    let n = block.lines.count
    let parts = max(1, min(threads, n / minLines))
    let shares = (0 ..< parts).map { _ in EncodedShare() }
    let encodings = (0 ..< parts).map { _ in make() }
    Parallel.forEach(parts) { p in
        var encoding = encodings[p]
        do throws(DatasetError) {
            for i in (p * n / parts) ..< ((p + 1) * n / parts) {
                _ = try encoding.encode(block.bytes, block.lines[i], number: block.number(i), path: path)
            }
            shares[p].data = encoding.take()
        } catch {
            shares[p].error = error
        }
    }
    if let error = shares.lazy.compactMap(\.error).first { throw error }
    let data = TabularData.concatenating(shares.map { $0.data! })!
    return data.count > 0 ? data : nil
}

/// One share's result in `encodeInParallel`, written by that share's thread alone.
private final class EncodedShare: @unchecked Sendable {
    var data: TabularData?
    var error: DatasetError?
}
