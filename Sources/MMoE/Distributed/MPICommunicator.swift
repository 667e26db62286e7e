#if MPI
import CMPI
import Foundation
import Tensor

/// `Communicator` over MPI's world communicator (the build with the `MPI` trait). Created once per
/// process (`MPI_Init_thread`, funneled: only the thread that trains calls MPI); `finalize()` at
/// the end of a successful run. Errors keep MPI's default handler, `MPI_ERRORS_ARE_FATAL`: a
/// failed operation (a peer gone) aborts the job rather than returning.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    public private(set) var bytesSent = 0
    private let world: MPI_Comm

    /// Initialises MPI (once per process).
    public init() {
        // A rank waiting in a collective yields its core instead of spinning, unless the user set
        // it: with other processes on the cores (more ranks than cores, a shared machine) spinning
        // ranks took the CPU from the rank they wait for (2-rank Census steps 3-4x slower).
        setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0)
        var provided: Int32 = 0
        MPI_Init_thread(nil, nil, mmoe_mpi_thread_funneled(), &provided)
        world = mmoe_mpi_comm_world()
        MPI_Comm_set_errhandler(world, mmoe_mpi_errors_are_fatal())
        var r: Int32 = 0, n: Int32 = 0
        MPI_Comm_rank(world, &r)
        MPI_Comm_size(world, &n)
        rank = Int(r)
        size = Int(n)
    }

    public func allGather(_ values: [Float]) -> [[Float]] {
        var count = Int32(values.count)
        var counts = [Int32](repeating: 0, count: size)
        MPI_Allgather(&count, 1, mmoe_mpi_int(), &counts, 1, mmoe_mpi_int(), world)
        bytesSent += 4 * (size - 1)
        return allGather(values, counts: counts.map(Int.init))
    }

    public func allGather(_ values: [Float], counts sizes: [Int]) -> [[Float]] {
        precondition(sizes.count == size && sizes[rank] == values.count, "MPICommunicator.allGather: \(values.count) values, counts \(sizes)")
        let count = Int32(values.count), counts = sizes.map { Int32($0) }
        var displacements = [Int32](repeating: 0, count: size)
        for q in 1..<max(1, size) { displacements[q] = displacements[q - 1] + counts[q - 1] }
        let total = Int(counts.reduce(0, +))
        var received = [Float](repeating: 0, count: total)
        values.withUnsafeBufferPointer { send in
            _ = MPI_Allgatherv(send.baseAddress, count, mmoe_mpi_float(), &received, counts, displacements, mmoe_mpi_float(), world)
        }
        bytesSent += values.count * 4 * (size - 1)
        return (0..<size).map { q in Array(received[Int(displacements[q])..<Int(displacements[q] + counts[q])]) }
    }

    public func allToAll(_ parts: [[Float]]) -> [[Float]] {
        precondition(parts.count == size, "MPICommunicator.allToAll: \(parts.count) parts for \(size) ranks")
        var sendCounts = parts.map { Int32($0.count) }
        var receiveCounts = [Int32](repeating: 0, count: size)
        MPI_Alltoall(&sendCounts, 1, mmoe_mpi_int(), &receiveCounts, 1, mmoe_mpi_int(), world)
        let sendOffsets = Self.offsets(sendCounts), receiveOffsets = Self.offsets(receiveCounts)
        let send = parts.flatMap { $0 }
        var received = [Float](repeating: 0, count: Int(receiveCounts.reduce(0, +)))
        MPI_Alltoallv(send, sendCounts, sendOffsets, mmoe_mpi_float(), &received, receiveCounts, receiveOffsets, mmoe_mpi_float(), world)
        bytesSent += 4 * (size - 1) + parts.enumerated().reduce(0) { $0 + ($1.offset == rank ? 0 : $1.element.count * 4) }
        return (0..<size).map { q in Array(received[Int(receiveOffsets[q])..<Int(receiveOffsets[q] + receiveCounts[q])]) }
    }

    public func allToAll(flat send: [Float], counts: [Int]) -> (values: [Float], counts: [Int]) {
        precondition(counts.count == size && counts.reduce(0, +) == send.count, "MPICommunicator.allToAll(flat:): counts \(counts) for \(send.count) values")
        var sendCounts = counts.map { Int32($0) }
        var receiveCounts = [Int32](repeating: 0, count: size)
        MPI_Alltoall(&sendCounts, 1, mmoe_mpi_int(), &receiveCounts, 1, mmoe_mpi_int(), world)
        let sendOffsets = Self.offsets(sendCounts), receiveOffsets = Self.offsets(receiveCounts)
        let total = Int(receiveCounts.reduce(0, +))
        // MPI writes every received value, so the buffer is not zeroed first.
        let received = [Float](unsafeUninitializedCapacity: total) { buffer, initialized in
            _ = MPI_Alltoallv(send, sendCounts, sendOffsets, mmoe_mpi_float(), buffer.baseAddress, receiveCounts, receiveOffsets, mmoe_mpi_float(), world)
            initialized = total
        }
        bytesSent += 4 * (size - 1) + counts.enumerated().reduce(0) { $0 + ($1.offset == rank ? 0 : $1.element * 4) }
        return (received, receiveCounts.map(Int.init))
    }

    public func allGather(inPlace values: Tensor, counts sizes: [Int]) {
        precondition(sizes.count == size && values.isContiguous && values.count == sizes.reduce(0, +),
                     "MPICommunicator.allGather(inPlace:): a tensor of \(values.count) for counts \(sizes)")
        let counts = sizes.map { Int32($0) }, displacements = Self.offsets(counts)
        values.withUnsafeMutableBufferPointer { buffer in
            _ = MPI_Allgatherv(mmoe_mpi_in_place(), 0, mmoe_mpi_float(), buffer.baseAddress, counts, displacements, mmoe_mpi_float(), world)
        }
        bytesSent += sizes[rank] * 4 * (size - 1)
    }

    /// Each part's start in a buffer of the parts back to back.
    private static func offsets(_ counts: [Int32]) -> [Int32] {
        var o = [Int32](repeating: 0, count: counts.count)
        for q in 1..<max(1, counts.count) { o[q] = o[q - 1] + counts[q - 1] }
        return o
    }

    public func barrier() { MPI_Barrier(world) }

    public func abort(code: Int32) -> Never {
        MPI_Abort(world, code)
        exit(code)
    }

    /// Ends MPI after a successful run (every rank calls it).
    public func finalize() { MPI_Finalize() }
}
#endif
