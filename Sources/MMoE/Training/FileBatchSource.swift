import Foundation
import Tensor
import Datasets

/// A training file read as byte slices, each parsed on its own: what `FileBatchSource` streams.
public struct SlicedFile: Sendable {
    /// Data rows in the file.
    public let rows: Int
    /// Byte ranges cut at line starts, with their first line numbers, covering the file in order.
    public let slices: [FileSlice]
    /// Parses the lines starting in one slice, handing over chunks in file order.
    public let read: @Sendable (_ slice: FileSlice, _ body: (TabularData) throws -> Bool) throws -> Void

    public init(rows: Int, slices: [FileSlice],
                read: @escaping @Sendable (_ slice: FileSlice, _ body: (TabularData) throws -> Bool) throws -> Void) {
        self.rows = rows
        self.slices = slices
        self.read = read
    }
}

/// Batches streamed from a file larger than memory may be: each epoch reads the file slice by
/// slice, shuffles its rows within windows of `window` rows (as TensorFlow's
/// `dataset.shuffle(buffer_size)` bounds its shuffle), and cuts batches of `batchSize`; rows left
/// over at the end of a window open the next one, and the epoch ends with a smaller batch.
/// Memory holds one window and the slices parsed ahead, never the file.
///
/// With `loaderThreads` > 1 (DeepRec's `--workqueue`) slices are handed out to that many loader
/// threads, at most `loaderThreads + 1` slices ahead of the reader; slices are still consumed in
/// file order, so the batches are the same for any number of loader threads.
public final class FileBatchSource: BatchSource {
    public let file: SlicedFile
    public let batchSize: Int
    public let window: Int
    private let loaders: SliceLoader
    private var rng: SeededRNG
    /// The shuffled rows of the current window, and how far batches have been cut from it.
    private var current: TabularData?
    private var order: [Int] = []
    private var position = 0
    private var nextSlice = 0

    public init(_ file: SlicedFile, batchSize: Int, window: Int = 1 << 17, seed: UInt64, loaderThreads: Int = 1) {
        precondition(batchSize > 0 && window >= batchSize && file.rows > 0, "FileBatchSource: needs rows, a positive batch size and window >= batch size")
        self.file = file
        self.batchSize = batchSize
        self.window = window
        rng = SeededRNG(seed: seed, stream: .batchOrder)
        loaders = SliceLoader(file, threads: loaderThreads)
    }

    public var rowsPerEpoch: Int { file.rows }

    public func next() throws -> Batch {
        if order.count - position < batchSize && hasMoreInEpoch { try refill() }
        let end = min(position + batchSize, order.count)
        let batch = Batch(current!, rows: order[position..<end])
        position = end
        if position == order.count && !hasMoreInEpoch {
            // Epoch done: the next call starts the file again.
            current = nil
            order = []
            position = 0
            nextSlice = 0
        }
        return batch
    }

    /// Rows parsed but not yet in a window (the rest of the last slice read).
    private var pending: [TabularData] = []

    private var hasMoreInEpoch: Bool { nextSlice < file.slices.count || !pending.isEmpty }

    /// Starts a new window: the rows not yet batched, then the next rows of the file up to
    /// `window` in all (or to the end of the epoch), shuffled. Windows hold exactly `window` rows
    /// whatever the slicing, so the batches do not depend on how the file was cut.
    private func refill() throws {
        var parts: [TabularData] = []
        let leftover = order.count - position
        if leftover > 0, let current { parts.append(current.gathering(order[position...])) }
        var need = window - leftover
        while need > 0 {
            if pending.isEmpty {
                guard nextSlice < file.slices.count else { break }
                pending = try loaders.next()
                nextSlice += 1
                continue
            }
            let chunk = pending.removeFirst()
            if chunk.count > need {
                parts.append(chunk.gathering(0..<need))
                pending.insert(chunk.gathering(need..<chunk.count), at: 0)
                need = 0
            } else {
                parts.append(chunk)
                need -= chunk.count
            }
        }
        guard let joined = TabularData.concatenating(parts), joined.count > 0 else {
            throw TrainingError(description: "the training file has no rows left to read (it changed while training?)")
        }
        // The leftover rows were shuffled already; they go first, the new rows are shuffled.
        var newRows = Array(leftover..<joined.count)
        newRows.shuffle(using: &rng)
        current = joined
        order = Array(0..<leftover) + newRows
        position = 0
    }
}

/// Parses slices ahead of the reader on loader threads, keeping at most `threads + 1` parsed
/// slices in memory; with one thread, a slice is parsed when it is taken. Slices are taken in
/// file order, epoch after epoch.
final class SliceLoader: @unchecked Sendable {
    let file: SlicedFile
    let threads: Int
    private let condition = NSCondition()
    /// Parsed slices by sequence number (slice = sequence mod slice count).
    private var results: [Int: Result<[TabularData], Error>] = [:]
    /// The next sequence number a loader will start, and the next the reader will take.
    private var scheduled = 0, taken = 0
    private var running = 0

    init(_ file: SlicedFile, threads: Int) {
        self.file = file
        self.threads = max(1, threads)
    }

    /// The chunks of the next slice.
    func next() throws -> [TabularData] {
        guard threads > 1 else {
            defer { taken += 1 }
            return try Self.parse(file, taken % file.slices.count)
        }
        condition.lock()
        defer { condition.unlock() }
        launch()
        while results[taken] == nil { condition.wait() }
        let result = results.removeValue(forKey: taken)!
        taken += 1
        launch()
        return try result.get()
    }

    /// Called with the lock held: starts loaders for the slices after `taken`, up to the bound.
    private func launch() {
        while running < threads && scheduled <= taken + threads {
            let sequence = scheduled
            scheduled += 1
            running += 1
            DispatchQueue.global().async { [self] in
                let result = Result { try Self.parse(file, sequence % file.slices.count) }
                condition.lock()
                results[sequence] = result
                running -= 1
                launch()
                condition.broadcast()
                condition.unlock()
            }
        }
    }

    static func parse(_ file: SlicedFile, _ index: Int) throws -> [TabularData] {
        var chunks: [TabularData] = []
        try file.read(file.slices[index]) { chunks.append($0); return true }
        return chunks
    }
}
