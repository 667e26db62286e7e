import Foundation
import Synchronization

/// The worker threads GEMM (and `Parallel.forEach`) split their work over.
///
/// NOTE: why not `DispatchQueue.concurrentPerform`? For the model's mid-sized
/// products (256x256x128 takes ~80 us on one core) Dispatch's wake-up and join cost ~6 us each,
/// which capped two threads at ~1.4x. These workers spin briefly on an atomic generation counter
/// after each job, so back-to-back GEMMs (a forward/backward pass) start in well under a
/// microsecond, then park on a condition variable so an idle pool costs nothing.
/// Which worker runs which block never affects the result (blocks are disjoint and each is computed
/// the same way on any thread); the static assignment only keeps a block's C rows in the same
/// core's cache from one call to the next.
final class GEMMWorkerPool: @unchecked Sendable {
    static let shared = GEMMWorkerPool()

    /// How long an idle worker keeps spinning before it parks (seconds).
    private static let spinSeconds = 50e-6

    private let generation = Atomic<Int>(0)
    private let running = Atomic<Bool>(false)
    private let pending = Atomic<Int>(0)
    private let wake = NSCondition()
    private var sleepers = 0                       // guarded by `wake`
    private let callers = NSLock()                 // one job at a time
    private var workerCount = 0                    // guarded by `callers`
    // The current job; written by the caller before it publishes `generation` (release) and read
    // by workers after they observe it (acquire).
    private var job: ((Int) -> Void)?
    private var jobWorkers = 0

    /// Whether a job is running now (so a new one would run inline). A hint only: it may change
    /// as soon as it is read.
    var isRunning: Bool { running.load(ordering: .relaxed) }

    /// Runs `body(w)` for w in 0..<workers, w = 0 on the calling thread; returns when all are done.
    func run(workers: Int, _ body: (Int) -> Void) {
        if workers <= 1 { body(0); return }
        // A GEMM started while the pool is busy (another thread's GEMM, or a GEMM inside a parallel
        // job) runs its blocks inline instead of waiting: same blocks, same bits, and no deadlock
        // when calls nest.
        guard callers.try() else {
            for w in 0..<workers { body(w) }
            return
        }
        running.store(true, ordering: .relaxed)
        defer { running.store(false, ordering: .relaxed); callers.unlock() }
        while workerCount < workers - 1 {
            workerCount += 1
            let index = workerCount
            // The worker must start from the generation before this job is published, not from
            // whatever it reads once the thread is up (by then it may already be this job's).
            let seen = generation.load(ordering: .acquiring)
            let thread = Thread { [unowned self] in self.workerLoop(index: index, seen: seen) }
            thread.name = "sgemm-\(index)"
            thread.start()
        }
        withoutActuallyEscaping(body) { body in
            job = body
            jobWorkers = workers
            // Every pool worker acknowledges every job, even one it sits out, so none can lag a
            // generation behind and read the next job's fields as if they were this one's.
            pending.store(workerCount, ordering: .relaxed)
            wake.lock()
            generation.add(1, ordering: .releasing)
            if sleepers > 0 { wake.broadcast() }
            wake.unlock()
            body(0)
            while pending.load(ordering: .acquiring) > 0 {}
            job = nil
        }
    }

    private func workerLoop(index: Int, seen: Int) {
        var seen = seen
        while true {
            var spins = 0
            var deadline = 0.0
            while generation.load(ordering: .acquiring) == seen {
                spins += 1
                if spins & 1023 != 0 { continue }
                let now = Double(DispatchTime.now().uptimeNanoseconds) * 1e-9
                if deadline == 0 { deadline = now + GEMMWorkerPool.spinSeconds; continue }
                if now < deadline { continue }
                wake.lock()
                sleepers += 1
                while generation.load(ordering: .acquiring) == seen { wake.wait() }
                sleepers -= 1
                wake.unlock()
            }
            seen = generation.load(ordering: .acquiring)
            // A pool grown for a wider job also wakes for narrower ones; only workers
            // 1..<jobWorkers take part.
            if index < jobWorkers { job?(index) }
            pending.subtract(1, ordering: .releasing)
        }
    }
}
