import Dispatch
import Foundation

/// How many threads the kernels may use. 0 means every core. Results never depend on this value:
/// work is split so that each output element is computed by exactly one thread in a fixed order.
public enum Parallel {
    nonisolated(unsafe) private static var configured = 0

    /// Cores online on this machine.
    public static let coreCount: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Threads the kernels use now.
    public static var threads: Int {
        get { configured == 0 ? coreCount : configured }
        set {
            precondition(newValue >= 0, "Parallel.threads: thread count must be >= 0 (0 = all cores), got \(newValue)")
            configured = newValue
        }
    }

    /// Runs `body(i)` for i in 0..<iterations on up to `threads` threads; returns when all are done.
    /// Iterations must write disjoint memory.
    @inlinable public static func forEach(_ iterations: Int, threads: Int = Parallel.threads, _ body: (Int) -> Void) {
        if iterations <= 0 { return }
        if iterations == 1 || threads <= 1 {
            for i in 0..<iterations { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let work = UnsafeSendable(body)
            DispatchQueue.concurrentPerform(iterations: min(threads, iterations)) { worker in
                // Static interleaved assignment: iteration i always runs on worker i % workers.
                var i = worker
                let workers = min(threads, iterations)
                while i < iterations { work.value(i); i += workers }
            }
        }
    }
}

/// Wraps a non-Sendable value for hand-off to worker threads that only read it or write disjoint parts.
public struct UnsafeSendable<T>: @unchecked Sendable {
    public let value: T
    public init(_ value: T) { self.value = value }
}
