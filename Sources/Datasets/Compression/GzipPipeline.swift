import Foundation

/// A `GzipDecoder` run on a thread of its own, up to `depth` pieces ahead of its reader, so that
/// inflating the next piece of a `.gz` file overlaps parsing and encoding the text of the previous
/// one. A gzip stream cannot be entered in the middle, so a `.gz` file is not cut into slices for
/// several loaders as a plain file is; this pipeline is its parallelism instead.
///
/// The pieces, and an error in its place after them, come out exactly as `GzipDecoder.next` gives
/// them on one thread: the bytes a reader sees are the same, only computed earlier. The thread
/// starts at the first `next()` and ends at the stream's end, at an error, or at `stop()`.
final class GzipPipeline {
    /// What the inflating thread and the reader share: the decoder (touched by the thread only)
    /// and the pieces ready, under `condition`.
    private final class Shared: @unchecked Sendable {
        var decoder: GzipDecoder
        let minimum: Int, depth: Int
        let condition = NSCondition()
        /// Pieces in stream order; `.success(nil)` is the end, a failure the decoder's error.
        var ready: [Result<[UInt8]?, CompressionError>] = []
        /// Set by `stop()`: the thread leaves at its next check.
        var stopped = false
        /// Set by the thread as it leaves, so `stop()` can wait for it (it reads the file handle
        /// its owner closes after).
        var finished = false

        init(_ decoder: GzipDecoder, minimum: Int, depth: Int) {
            self.decoder = decoder
            self.minimum = minimum
            self.depth = depth
        }

        func inflate() {
            while true {
                condition.lock()
                while ready.count >= depth && !stopped { condition.wait() }
                if stopped {
                    finished = true
                    condition.broadcast()
                    condition.unlock()
                    return
                }
                condition.unlock()
                let result: Result<[UInt8]?, CompressionError>
                do throws(CompressionError) { result = .success(try decoder.next(minimum: minimum)) } catch { result = .failure(error) }
                condition.lock()
                ready.append(result)
                let last: Bool
                switch result {
                case .success(let piece): last = piece == nil
                case .failure: last = true
                }
                if last { finished = true }
                condition.broadcast()
                condition.unlock()
                if last { return }
            }
        }
    }

    private let shared: Shared
    private var started = false

    /// Pieces of at least `minimum` bytes (as `GzipDecoder.next(minimum:)`), up to `depth` ahead.
    init(_ decoder: GzipDecoder, minimum: Int, depth: Int = 2) {
        precondition(depth >= 1, "GzipPipeline: depth must be at least 1")
        shared = Shared(decoder, minimum: minimum, depth: depth)
    }

    deinit { stop() }

    /// The next piece of decompressed data, or nil after the last member's trailer was checked;
    /// the decoder's error where it met it (and again on every later call).
    func next() throws(CompressionError) -> [UInt8]? {
        let s = shared
        if !started {
            started = true
            let thread = Thread { s.inflate() }
            thread.name = "mmoe-gunzip"
            thread.start()
        }
        s.condition.lock()
        defer { s.condition.unlock() }
        while s.ready.isEmpty { s.condition.wait() }
        switch s.ready[0] {
        case .failure(let error): throw error
        case .success(nil): return nil
        case .success(let piece?):
            s.ready.removeFirst()
            s.condition.broadcast()
            return piece
        }
    }

    /// Stops the thread and waits until it has left (it may be finishing a piece), so the file
    /// it reads can be closed. Idempotent.
    func stop() {
        let s = shared
        s.condition.lock()
        defer { s.condition.unlock() }
        guard started else { return }
        s.stopped = true
        s.condition.broadcast()
        while !s.finished { s.condition.wait() }
    }
}
