import Synchronization

/// The element buffer behind one or more tensors. Views (reshape, transpose, slice, expand) share a
/// storage; ops always allocate a new one for their result. The memory is 64-byte aligned so that
/// whole SIMD16<Float> rows start on a cache line.
public final class TensorStorage: @unchecked Sendable {
    /// Storages alive right now, to prove that nothing outlives a training step.
    public static var liveCount: Int { live.load(ordering: .relaxed) }
    private static let live = Atomic<Int>(0)

    /// The number of Float elements.
    public let count: Int
    @usableFromInline let base: UnsafeMutablePointer<Float>

    /// Uninitialised storage: the caller writes every element before reading it.
    public init(uninitializedCount count: Int) {
        precondition(count >= 0, "TensorStorage: negative element count \(count)")
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        base = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        TensorStorage.live.add(1, ordering: .relaxed)
    }

    /// Storage with every element set to `value`.
    public convenience init(count: Int, repeating value: Float) {
        self.init(uninitializedCount: count)
        base.initialize(repeating: value, count: count)
    }

    deinit {
        UnsafeMutableRawPointer(base).deallocate()
        TensorStorage.live.subtract(1, ordering: .relaxed)
    }
}
