import Foundation
import Tensor

// Distributed training: several `mmoe-train` processes started by `mpirun` (one per rank) train one
// model. Every rank holds the whole model and reads the whole batch; each computes the forward and
// backward of its own row shards of it, the shard gradients are combined in shard order
// (`ShardExchange`), so every rank applies the same update and the result has the same bits as one
// process with the same shard count; evaluation rows are split over the ranks and their scores
// gathered (`Communicator.gatherRows`). Rank 0 alone prints and writes. The transport is MPI, in
// the build with the `MPI` package trait only (`MPICommunicator`); the default build has none, and
// `LaunchEnvironment` refuses to run as one of several ranks.

/// The collective operations distributed training needs, over the ranks of one job. Every rank
/// calls the same operations in the same order (MPI's rule); a rank that stops calling them
/// (dies, or throws out of the run) ends the whole job (`abort`, or `mpirun` noticing the exit).
public protocol Communicator: AnyObject {
    /// This process's rank, 0 ..< `size`.
    var rank: Int { get }
    /// The number of ranks.
    var size: Int { get }
    /// Bytes this rank has sent so far (payloads of the operations below, as the algorithms send
    /// them: ring or pairwise, so (N - 1) / N of an all-gathered total, each peer's part of an
    /// all-to-all).
    var bytesSent: Int { get }
    /// Every rank's `values`, indexed by rank (the counts may differ between ranks).
    func allGather(_ values: [Float]) -> [[Float]]
    /// Every rank's `values`, when every rank knows how many each sends (`counts`, by rank): one
    /// exchange fewer than `allGather(_:)`.
    func allGather(_ values: [Float], counts: [Int]) -> [[Float]]
    /// Sends `parts[q]` to rank q (`parts.count == size`); returns what each rank sent to this one.
    func allToAll(_ parts: [[Float]]) -> [[Float]]
    /// `allToAll(_:)` on flat buffers: `send` holds the parts for ranks 0, 1, ... back to back,
    /// `counts[q]` values for rank q; returns what each rank sent to this one, back to back, and
    /// how many came from each. The form a step's gradient exchange uses: megabytes per step, so
    /// no per-part arrays to build, join and split again.
    func allToAll(flat send: [Float], counts: [Int]) -> (values: [Float], counts: [Int])
    /// `allGather(_:counts:)` in place in a contiguous tensor of `counts`' sum: each rank
    /// holds its own block (rank r's starts after the counts of the ranks before it) and ends
    /// with every rank's (a distributed step's updated weights, with no copy in or out).
    func allGather(inPlace values: Tensor, counts: [Int])
    /// Waits until every rank has called it.
    func barrier()
    /// Ends every rank of the job with exit status `code`.
    func abort(code: Int32) -> Never
}

extension Communicator {
    /// Every rank's integers (carried bit for bit in the Float payload).
    public func allGather(_ values: [Int32]) -> [[Int32]] {
        allGather(values.map { Float(bitPattern: UInt32(bitPattern: $0)) }).map { $0.map { Int32(bitPattern: $0.bitPattern) } }
    }

    /// By the per-part operations (a transport with nothing better to offer).
    public func allToAll(flat send: [Float], counts: [Int]) -> (values: [Float], counts: [Int]) {
        precondition(counts.count == size && counts.reduce(0, +) == send.count, "Communicator.allToAll(flat:): counts \(counts) for \(send.count) values")
        var parts: [[Float]] = [], start = 0
        for n in counts { parts.append(Array(send[start..<(start + n)])); start += n }
        let received = allToAll(parts)
        return (received.flatMap { $0 }, received.map(\.count))
    }

    /// By the per-part operation (a transport with nothing better to offer).
    public func allGather(inPlace values: Tensor, counts: [Int]) {
        let start = counts[..<rank].reduce(0, +)
        values.assign(scalars: allGather(values.slice(0, start..<(start + counts[rank])).scalars, counts: counts).flatMap { $0 })
    }

    /// The rows of `count` that rank `rank` works on: a contiguous block, the blocks in rank order.
    public func rows(of count: Int, rank r: Int? = nil) -> Range<Int> {
        let r = r ?? rank
        return (r * count / size)..<((r + 1) * count / size)
    }

    /// Whether every rank has `value` equal to rank 0's (checked in bits).
    public func agree(_ value: [Float]) -> Bool {
        let all = allGather(value)
        return all.allSatisfy { zip($0, all[0]).allSatisfy { $0.bitPattern == $1.bitPattern } && $0.count == all[0].count }
    }
}
