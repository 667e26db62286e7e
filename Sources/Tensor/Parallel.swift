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
    /// Iterations must write disjoint memory. Runs on the same spinning worker pool as the GEMM, so
    /// kernels between GEMMs neither wake new threads nor compete with spinning ones; called from
    /// inside a parallel job (the pool busy), it runs inline.
    public static func forEach(_ iterations: Int, threads: Int = Parallel.threads, _ body: (Int) -> Void) {
        if iterations <= 0 { return }
        let workers = min(threads, iterations)
        if workers <= 1 {
            for i in 0..<iterations { body(i) }
            return
        }
        // Static interleaved assignment: iteration i always runs on worker i % workers.
        GEMMWorkerPool.shared.run(workers: workers) { w in
            var i = w
            while i < iterations { body(i); i += workers }
        }
    }
}

/// Wraps a non-Sendable value for hand-off to worker threads that only read it or write disjoint parts.
public struct UnsafeSendable<T>: @unchecked Sendable {
    public let value: T
    public init(_ value: T) { self.value = value }
}
