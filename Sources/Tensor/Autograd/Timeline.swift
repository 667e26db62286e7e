import Foundation
import Synchronization

/// Per-op timings in the Chrome trace event format (DeepRec's `--timeline`): open the written file
/// in chrome://tracing or https://ui.perfetto.dev.
///
/// Thread-safe: batch shards running on different threads record into one timeline. Each event
/// carries a small thread id (0, 1, 2, ... in the order threads first record here), so every
/// thread gets its own track. Timestamps are `DispatchTime.now().uptimeNanoseconds`; the trace
/// shows them in microseconds from the timeline's creation.
public final class Timeline: Sendable {
    /// One timed span: an op's forward or backward, or a named phase of a step.
    public struct Event: Sendable, Equatable {
        /// The op or phase name (`linear`, `optimizer`, ...).
        public var name: String
        /// `forward`, `backward` or the phase's category.
        public var category: String
        /// Nanoseconds (`DispatchTime.now().uptimeNanoseconds`).
        public var start: UInt64, end: UInt64
        /// The recording thread's id within this timeline.
        public var thread: Int
        /// Extra fields shown in the trace viewer (for example the output shape).
        public var args: [String: String]
    }

    private struct State {
        var events: [Event] = []
        /// Process-wide thread number -> this timeline's thread id.
        var threadIDs: [Int: Int] = [:]
    }

    private let state = Mutex(State())
    /// Time zero of the trace (ns).
    public let origin: UInt64

    /// An empty timeline whose time zero is now.
    public init() { origin = DispatchTime.now().uptimeNanoseconds }

    /// Now, in the clock events use (ns).
    @inline(__always) public static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Adds one complete event on the calling thread's track. `end < start` is clamped to `start`.
    public func record(name: String, category: String, start: UInt64, end: UInt64, args: [String: String] = [:]) {
        let thread = Timeline.threadNumber
        state.withLock { s in
            let tid: Int
            if let known = s.threadIDs[thread] {
                tid = known
            } else {
                tid = s.threadIDs.count
                s.threadIDs[thread] = tid
            }
            s.events.append(Event(name: name, category: category, start: start, end: max(start, end), thread: tid, args: args))
        }
    }

    /// Runs `body` and records it as one event (for callers' phases: a step, data loading, the
    /// optimizer update). Ops timed inside it nest within it on the trace.
    @discardableResult
    public func span<R>(_ name: String, category: String = "step", args: [String: String] = [:],
                        _ body: () throws -> R) rethrows -> R {
        let start = Timeline.now()
        defer { record(name: name, category: category, start: start, end: Timeline.now(), args: args) }
        return try body()
    }

    /// Every event so far, ordered by start time (ties: longer first, so an enclosing span precedes
    /// what it contains).
    public var events: [Event] {
        state.withLock { $0.events }.sorted { ($0.start, $1.end) < ($1.start, $0.end) }
    }

    /// Drops every event (thread ids are kept).
    public func removeAll() { state.withLock { $0.events.removeAll() } }

    /// `{"traceEvents": [{"name", "cat", "ph": "X", "ts", "dur", "pid": 1, "tid", "args"}, ...],
    /// "displayTimeUnit": "ms"}` with `ts` and `dur` in microseconds (Double), events sorted by `ts`.
    public func chromeTraceJSON() -> Data {
        let trace: [String: Any] = [
            "traceEvents": events.map { e -> [String: Any] in
                [
                    "name": e.name, "cat": e.category, "ph": "X",
                    "ts": Double(Int64(bitPattern: e.start &- origin)) / 1000,
                    "dur": Double(e.end - e.start) / 1000,
                    "pid": 1, "tid": e.thread, "args": e.args,
                ]
            },
            "displayTimeUnit": "ms",
        ]
        // Only strings, numbers, arrays and dictionaries: serialisation cannot fail.
        return try! JSONSerialization.data(withJSONObject: trace, options: [.sortedKeys])
    }

    /// Writes `chromeTraceJSON()` to `url`.
    public func write(to url: URL) throws {
        try chromeTraceJSON().write(to: url, options: .atomic)
    }

    // MARK: thread numbers

    private static let nextThreadNumber = Atomic<Int>(0)

    /// Holds each thread's number + 1 (0 = not yet numbered), as a pointer-sized value.
    private static let threadKey: pthread_key_t = {
        var key = pthread_key_t()
        let rc = pthread_key_create(&key, nil)
        precondition(rc == 0, "Timeline: pthread_key_create failed (\(rc))")
        return key
    }()

    /// A process-wide number for the calling thread, fixed for its lifetime.
    static var threadNumber: Int {
        if let raw = pthread_getspecific(threadKey) { return Int(bitPattern: raw) - 1 }
        let n = nextThreadNumber.add(1, ordering: .relaxed).oldValue
        pthread_setspecific(threadKey, UnsafeRawPointer(bitPattern: n + 1))
        return n
    }
}
