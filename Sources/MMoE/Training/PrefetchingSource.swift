import Foundation

/// DeepRec's SmartStaged, for a CPU: the next batches are read, parsed and gathered on a
/// background thread while the current step trains, up to `depth` batches ahead.
///
/// One producer calls the wrapped source in order, so the batches (and an error, in its place in
/// the sequence) come out exactly as the source would give them without prefetching. The producer
/// stops when this object goes away.
public final class PrefetchingSource: BatchSource {
    /// What the producer thread and the consumer share; the thread holds this, not the wrapper,
    /// so dropping the wrapper stops the thread.
    private final class Queue: @unchecked Sendable {
        let source: BatchSource
        let depth: Int
        let condition = NSCondition()
        var ready: [Result<Batch, Error>] = []
        var stopped = false

        init(_ source: BatchSource, _ depth: Int) {
            self.source = source
            self.depth = depth
        }

        func produce() {
            while true {
                condition.lock()
                while ready.count >= depth && !stopped { condition.wait() }
                if stopped { condition.unlock(); return }
                condition.unlock()
                let result = Result { try source.next() }
                condition.lock()
                ready.append(result)
                condition.broadcast()
                condition.unlock()
                if case .failure = result { return }
            }
        }
    }

    private let queue: Queue
    private var started = false

    public init(_ source: BatchSource, depth: Int = 4) {
        precondition(depth >= 1, "PrefetchingSource: depth must be at least 1")
        queue = Queue(source, depth)
    }

    deinit {
        queue.condition.lock()
        queue.stopped = true
        queue.condition.broadcast()
        queue.condition.unlock()
    }

    /// The source the batches are prefetched from.
    public var source: BatchSource { queue.source }
    public var rowsPerEpoch: Int { queue.source.rowsPerEpoch }
    public var batchSize: Int { queue.source.batchSize }

    public func next() throws -> Batch {
        if !started {
            started = true
            let q = queue
            let thread = Thread { q.produce() }
            thread.name = "mmoe-prefetch"
            thread.start()
        }
        queue.condition.lock()
        defer { queue.condition.unlock() }
        while queue.ready.isEmpty { queue.condition.wait() }
        // A failure stays at the head: the producer has stopped, and every later call reports it.
        if case .failure(let error) = queue.ready[0] { throw error }
        let batch = try queue.ready.removeFirst().get()
        queue.condition.broadcast()
        return batch
    }
}
