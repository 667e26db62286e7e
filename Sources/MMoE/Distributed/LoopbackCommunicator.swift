import Foundation
import Tensor

/// A `Communicator` between threads of one process: N ranks, each on its own thread, meeting in a
/// shared `LoopbackCommunicator.Hub`. What distributed training does across processes can then be
/// run and tested in one process, without MPI (`LoopbackCommunicator.run(ranks:_:)`). Payloads are
/// copied as MPI would copy them; `bytesSent` counts what MPI's algorithms would send.
public final class LoopbackCommunicator: Communicator {
    public let rank: Int
    public var size: Int { hub.size }
    public private(set) var bytesSent = 0
    let hub: Hub

    init(rank: Int, hub: Hub) {
        self.rank = rank
        self.hub = hub
    }

    /// Where the ranks meet: every operation is one round in which each rank leaves its parts and
    /// takes everyone's, once all have arrived.
    final class Hub: @unchecked Sendable {
        let size: Int
        private let condition = NSCondition()
        private var slots: [[[Float]]]
        private var arrived = 0, departed = 0, leaving = false
        /// Set when a rank has left the job with an error (`fail`).
        private var failure: String?

        init(size: Int) {
            self.size = size
            slots = Array(repeating: [], count: size)
        }

        /// Records that `rank` left the job with `error`: every rank waiting in a round, or arriving
        /// at one later, stops the process with that error (as `mpirun` ends the job).
        func fail(_ rank: Int, _ error: Error) {
            condition.lock()
            defer { condition.unlock() }
            failure = failure ?? "rank \(rank) threw: \(error)"
            condition.broadcast()
        }

        /// Leaves `parts` for the round; returns every rank's, by rank.
        func round(_ rank: Int, _ parts: [[Float]]) -> [[[Float]]] {
            condition.lock()
            defer { condition.unlock() }
            while leaving && failure == nil { condition.wait() }
            slots[rank] = parts
            arrived += 1
            if arrived == size {
                leaving = true
                condition.broadcast()
            } else {
                while !leaving && failure == nil { condition.wait() }
            }
            if let failure, !leaving {
                // MPI ends the job when a rank exits with an error; a rank left waiting for it
                // here would wait forever.
                fatalError("LoopbackCommunicator: rank \(rank) waits in a collective that a rank which threw will never join: \(failure)")
            }
            let all = slots
            departed += 1
            if departed == size {
                arrived = 0
                departed = 0
                leaving = false
                slots = Array(repeating: [], count: size)
                condition.broadcast()
            }
            return all
        }
    }

    public func allGather(_ values: [Float]) -> [[Float]] {
        bytesSent += 4 * (size - 1) + values.count * 4 * (size - 1)
        return hub.round(rank, [values]).map { $0[0] }
    }

    public func allGather(_ values: [Float], counts: [Int]) -> [[Float]] {
        precondition(counts.count == size && counts[rank] == values.count, "LoopbackCommunicator.allGather: \(values.count) values, counts \(counts)")
        bytesSent += values.count * 4 * (size - 1)
        return hub.round(rank, [values]).map { $0[0] }
    }

    public func allToAll(_ parts: [[Float]]) -> [[Float]] {
        precondition(parts.count == size, "LoopbackCommunicator.allToAll: \(parts.count) parts for \(size) ranks")
        bytesSent += 4 * (size - 1) + parts.enumerated().reduce(0) { $0 + ($1.offset == rank ? 0 : $1.element.count * 4) }
        return hub.round(rank, parts).map { $0[rank] }
    }

    public func barrier() { _ = hub.round(rank, []) }

    public func abort(code: Int32) -> Never {
        fatalError("LoopbackCommunicator: rank \(rank) aborted the job with code \(code)")
    }

    /// Runs `body` on `ranks` threads, each with its rank's communicator, and returns their
    /// results by rank once all have finished. Every rank must make the same collective calls.
    public static func run<R>(ranks: Int, stackSize: Int = 16 << 20, _ body: @escaping (LoopbackCommunicator) throws -> R) throws -> [R] {
        precondition(ranks >= 1, "LoopbackCommunicator.run: ranks must be at least 1")
        let hub = Hub(size: ranks)
        let results = Results<R>(count: ranks)
        let done = DispatchGroup()
        let work = UnsafeSendable(body)
        for r in 0..<ranks {
            done.enter()
            let thread = Thread {
                let result = Result { try work.value(LoopbackCommunicator(rank: r, hub: hub)) }
                if case .failure(let error) = result { hub.fail(r, error) }
                results.set(r, result)
                done.leave()
            }
            thread.stackSize = stackSize
            thread.start()
        }
        done.wait()
        return try results.values.map { try $0!.get() }
    }

    private final class Results<R>: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var values: [Result<R, Error>?]
        init(count: Int) { values = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ value: Result<R, Error>) {
            lock.lock()
            values[i] = value
            lock.unlock()
        }
    }
}
