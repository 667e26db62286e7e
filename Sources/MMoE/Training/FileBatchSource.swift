import Foundation
import Tensor
import Datasets

/// A training input read in pieces, each parsed on its own: what `FileBatchSource` streams. A
/// text file's pieces are byte slices cut at line starts (`FileSlice`); a Parquet folder's are its
/// row groups. Pieces are read in file order, or, with `order`, in the order it gives for each
/// epoch (a seeded permutation, so a run stays reproducible).
public struct SlicedFile: Sendable {
    /// Data rows in all the pieces.
    public let rows: Int
    /// How many pieces there are.
    public let pieceCount: Int
    /// Parses piece `index` (0 ..< `pieceCount`), handing over chunks in order; `body` returns
    /// false to stop early.
    public let readPiece: @Sendable (_ index: Int, _ body: (TabularData) throws -> Bool) throws -> Void
    /// The pieces of epoch `epoch` (0-based), in the order they are read: a permutation of
    /// 0 ..< `pieceCount`; nil: file order every epoch.
    public let order: (@Sendable (_ epoch: Int) -> [Int])?

    /// A text file read as `slices`, byte ranges cut at line starts with their first line numbers,
    /// covering the file in order.
    public init(rows: Int, slices: [FileSlice],
                read: @escaping @Sendable (_ slice: FileSlice, _ body: (TabularData) throws -> Bool) throws -> Void) {
        self.init(rows: rows, pieces: slices.count, order: nil) { index, body in try read(slices[index], body) }
    }

    /// Any input in `pieces` pieces that `read` parses by index, in `order` each epoch.
    public init(rows: Int, pieces: Int, order: (@Sendable (_ epoch: Int) -> [Int])?,
                read: @escaping @Sendable (_ index: Int, _ body: (TabularData) throws -> Bool) throws -> Void) {
        self.rows = rows
        pieceCount = pieces
        self.order = order
        readPiece = read
    }

    /// The piece read `position`-th (0-based) in epoch `epoch`.
    func piece(epoch: Int, position: Int) -> Int { order.map { $0(epoch)[position] } ?? position }

    /// A seeded permutation of 0 ..< `count` for each epoch, drawn from the run's `batchOrder`
    /// stream and the epoch number, so any epoch's order can be computed on its own (by a loader
    /// thread running ahead, or on resume).
    public static func seededOrder(count: Int, seed: UInt64) -> @Sendable (Int) -> [Int] {
        let base = SeededRNG.streamSeed(seed, .batchOrder)
        return { epoch in
            var rng = SeededRNG(seed: base ^ (UInt64(epoch) &+ 1) &* 0xD1B5_4A32_D192_ED03)
            var order = Array(0 ..< count)
            order.shuffle(using: &rng)
            return order
        }
    }
}

/// Batches streamed from an input larger than memory may be: each epoch reads the input piece by
/// piece (`SlicedFile`: a text file's slices in file order, a Parquet folder's row groups in a
/// seeded order), shuffles its rows within windows of `window` rows (as TensorFlow's
/// `dataset.shuffle(buffer_size)` bounds its shuffle), and cuts batches of `batchSize`; rows left
/// over at the end of a window open the next one, and the epoch ends with a smaller batch.
/// Memory holds one window, the rest of the last piece read and the pieces parsed ahead, never the
/// whole input (`peakBufferedRows` and `peakPiecesAhead` say how much it held).
///
/// With `loaderThreads` > 1 (DeepRec's `--workqueue`) pieces are handed out to that many loader
/// threads, at most `loaderThreads + 1` pieces ahead of the reader; pieces are still consumed in
/// order, so the batches are the same for any number of loader threads.
public final class FileBatchSource: BatchSource {
    public let file: SlicedFile
    public let batchSize: Int
    public let window: Int
    private var loaders: SliceLoader
    private var rng: SeededRNG
    /// The shuffled rows of the current window, and how far batches have been cut from it.
    private var current: TabularData?
    private var order: [Int] = []
    private var position = 0
    private var nextPiece = 0
    /// The most rows held at once in the window and the rest of the last piece read.
    public private(set) var peakBufferedRows = 0
    /// The most pieces parsed (or being parsed) ahead of the reader at once.
    public var peakPiecesAhead: Int { loaders.peakAhead }

    public init(_ file: SlicedFile, batchSize: Int, window: Int = 1 << 17, seed: UInt64, loaderThreads: Int = 1) {
        precondition(batchSize > 0 && window >= batchSize && file.rows > 0, "FileBatchSource: needs rows, a positive batch size and window >= batch size")
        self.file = file
        self.batchSize = batchSize
        self.window = window
        rng = SeededRNG(seed: seed, stream: .batchOrder)
        loaders = SliceLoader(file, threads: loaderThreads)
    }

    public var rowsPerEpoch: Int { file.rows }

    /// Rows of the pieces this process parsed itself and took (all rows read, unless the input
    /// is shared across ranks: `shareInput(among:)`).
    public var rowsParsed: Int { loaders.rowsParsed }
    /// Whether the ranks of a distributed run each parse their share of the pieces.
    public var sharesInput: Bool { loaders.share != nil }

    /// Under `communicator` (N ranks, every one with a source built the same way): rank r parses
    /// only the pieces r, r + N, r + 2N, ... of the sequence the source reads, and the ranks
    /// exchange their parsed pieces N at a time (`InputShare`), so every rank cuts the same batches
    /// as one process would. Call before the first batch, from the thread that trains (the
    /// exchange is one of the ranks' collective operations, in the order the batches are drawn).
    /// `parseAhead`: parse this rank's pieces ahead on at least 2 loader threads (the batches do
    /// not depend on the loader count), in place of a `PrefetchingSource`, which cannot be used
    /// over a shared input.
    public func shareInput(among communicator: any Communicator, parseAhead: Bool = false) {
        precondition(current == nil && nextPiece == 0, "FileBatchSource.shareInput: call it before the first batch")
        if parseAhead && loaders.threads < 2 { loaders = SliceLoader(file, threads: 2) }
        loaders.share = communicator.size > 1 ? InputShare(communicator) : nil
    }

    public func next() throws -> Batch {
        if order.count - position < batchSize && hasMoreInEpoch { try refill() }
        let end = min(position + batchSize, order.count)
        let batch = Batch(current!, rows: order[position..<end])
        position = end
        if position == order.count && !hasMoreInEpoch {
            // Epoch done: the next call starts the input again.
            current = nil
            order = []
            position = 0
            nextPiece = 0
        }
        return batch
    }

    /// Rows parsed but not yet in a window (the rest of the last piece read).
    private var pending: [TabularData] = []

    private var hasMoreInEpoch: Bool { nextPiece < file.pieceCount || !pending.isEmpty }

    /// Starts a new window: the rows not yet batched, then the next rows of the input up to
    /// `window` in all (or to the end of the epoch), shuffled. Windows hold exactly `window` rows
    /// whatever the slicing, so the batches do not depend on how the input was cut.
    private func refill() throws {
        var parts: [TabularData] = []
        let leftover = order.count - position
        if leftover > 0, let current { parts.append(current.gathering(order[position...])) }
        current = nil
        var need = window - leftover
        while need > 0 {
            if pending.isEmpty {
                guard nextPiece < file.pieceCount else { break }
                pending = try loaders.next()
                nextPiece += 1
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
            throw TrainingError(description: "the training input has no rows left to read (it changed while training?)")
        }
        // The leftover rows were shuffled already; they go first, the new rows are shuffled.
        var newRows = Array(leftover..<joined.count)
        newRows.shuffle(using: &rng)
        current = joined
        order = Array(0..<leftover) + newRows
        position = 0
        peakBufferedRows = max(peakBufferedRows, joined.count + pending.reduce(0) { $0 + $1.count })
    }
}

/// Parses pieces ahead of the reader on loader threads, keeping at most `threads + 1` parsed
/// pieces in memory; with one thread, a piece is parsed when it is taken. Pieces are taken in
/// their epoch's order (`SlicedFile.piece`), epoch after epoch.
///
/// With `share` (rank r of N), this process parses only the sequence numbers r, r + N, ... (its
/// local pieces, ahead on the loader threads as above), and every N pieces taken the ranks
/// exchange what they parsed, so every rank is handed every piece in sequence order.
final class SliceLoader: @unchecked Sendable {
    let file: SlicedFile
    let threads: Int
    private let condition = NSCondition()
    /// Parsed local pieces by local number j (sequence number `sequence(j)`; epoch = sequence /
    /// pieces, position = sequence mod pieces).
    private var results: [Int: Result<[TabularData], Error>] = [:]
    /// The next local number a loader will start, and the next the reader will take.
    private var scheduled = 0, taken = 0
    /// The ranks sharing the input; nil: this process parses every piece.
    var share: InputShare?
    /// The pieces of the current exchange not yet handed over, in sequence order.
    private var exchanged: [[TabularData]] = []
    /// Rows of the pieces this process parsed and took.
    private(set) var rowsParsed = 0
    private var running = 0
    /// The most pieces parsed or being parsed ahead of the reader at once.
    private var peak = 0
    var peakAhead: Int {
        condition.lock()
        defer { condition.unlock() }
        return peak
    }
    /// The last epoch's piece order (computed once per epoch).
    private var orderCache: (epoch: Int, order: [Int])?

    init(_ file: SlicedFile, threads: Int) {
        self.file = file
        self.threads = max(1, threads)
    }

    /// The sequence number of local piece `j`: every piece alone, every N-th with a share.
    private func sequence(_ j: Int) -> Int {
        guard let share else { return j }
        return j * share.size + share.rank
    }

    /// The piece of sequence number `sequence` (with the lock held when threaded).
    private func piece(_ sequence: Int) -> Int {
        let epoch = sequence / file.pieceCount, position = sequence % file.pieceCount
        guard let order = file.order else { return position }
        if orderCache?.epoch != epoch { orderCache = (epoch, order(epoch)) }
        return orderCache!.order[position]
    }

    /// The chunks of the next piece (with a share: after the ranks' exchange, every N pieces).
    func next() throws -> [TabularData] {
        guard let share else { return try nextLocal() }
        if exchanged.isEmpty { exchanged = try share.exchange(Result { try nextLocal() }) }
        return exchanged.removeFirst()
    }

    /// The chunks of the next local piece, parsed here.
    private func nextLocal() throws -> [TabularData] {
        let chunks = try takeLocal()
        rowsParsed += chunks.reduce(0) { $0 + $1.count }
        return chunks
    }

    private func takeLocal() throws -> [TabularData] {
        guard threads > 1 else {
            defer { taken += 1 }
            peak = max(peak, 1)
            return try Self.parse(file, piece(sequence(taken)))
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

    /// Called with the lock held: starts loaders for the pieces after `taken`, up to the bound.
    private func launch() {
        while running < threads && scheduled <= taken + threads {
            let index = piece(sequence(scheduled))
            let local = scheduled
            scheduled += 1
            running += 1
            peak = max(peak, results.count + running)
            DispatchQueue.global().async { [self] in
                let result = Result { try Self.parse(file, index) }
                condition.lock()
                results[local] = result
                running -= 1
                launch()
                condition.broadcast()
                condition.unlock()
            }
        }
    }

    static func parse(_ file: SlicedFile, _ index: Int) throws -> [TabularData] {
        var chunks: [TabularData] = []
        try file.readPiece(index) { chunks.append($0); return true }
        return chunks
    }
}
