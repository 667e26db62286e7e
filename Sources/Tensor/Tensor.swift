/// A strided N-dimensional array of Float over shared storage.
///
/// Like a PyTorch tensor, a `Tensor` is a view: copying the struct copies the view, not the
/// elements, and writing through one view is seen through every view of the same storage. Ops
/// never write into their inputs; they return tensors over new storage.
public struct Tensor: @unchecked Sendable {
    /// The shared element buffer this view reads and writes.
    public let storage: TensorStorage
    /// The size of each dimension, outermost first.
    public let shape: [Int]
    /// Elements to step in `storage` per unit of each dimension (0 for a broadcast dimension).
    public let strides: [Int]
    /// Index in `storage` of the first element.
    public let offset: Int

    /// A view over `storage`; checks that every addressed element lies inside it.
    public init(storage: TensorStorage, shape: [Int], strides: [Int], offset: Int = 0) {
        precondition(shape.count == strides.count, "Tensor: shape \(shape) and strides \(strides) differ in rank")
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in shape \(shape)")
        if shape.reduce(1, *) > 0 {
            var lo = offset, hi = offset
            for (d, s) in zip(shape, strides) { if s > 0 { hi += (d - 1) * s } else { lo += (d - 1) * s } }
            precondition(lo >= 0 && hi < storage.count,
                         "Tensor: view shape \(shape) strides \(strides) offset \(offset) exceeds storage of \(storage.count)")
        }
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.offset = offset
    }

    /// A contiguous tensor with every element set to `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        let n = shape.reduce(1, *)
        self.init(storage: TensorStorage(count: n, repeating: value), shape: shape, strides: Tensor.contiguousStrides(shape))
    }

    /// A contiguous tensor whose elements are written by the caller before use.
    public init(uninitializedShape shape: [Int]) {
        let n = shape.reduce(1, *)
        self.init(storage: TensorStorage(uninitializedCount: n), shape: shape, strides: Tensor.contiguousStrides(shape))
    }

    /// A contiguous tensor holding `scalars` in row-major order.
    public init(shape: [Int], scalars: [Float]) {
        let n = shape.reduce(1, *)
        precondition(scalars.count == n, "Tensor(shape:scalars:): shape \(shape) needs \(n) scalars, got \(scalars.count)")
        self.init(uninitializedShape: shape)
        scalars.withUnsafeBufferPointer { storage.base.update(from: $0.baseAddress!, count: n) }
    }

    /// A rank-0 tensor.
    public init(scalar: Float) { self.init(shape: [], scalars: [scalar]) }

    /// Row-major strides for `shape`: the last dimension has stride 1.
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var s = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) { strides[i] = s; s *= shape[i] }
        return strides
    }

    /// The number of dimensions.
    public var rank: Int { shape.count }
    /// The number of elements (the product of `shape`).
    public var count: Int { shape.reduce(1, *) }

    /// True when the elements are laid out densely in row-major order (size-1 dimensions ignored).
    public var isContiguous: Bool {
        var expected = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) where shape[i] != 1 {
            if strides[i] != expected { return false }
            expected *= shape[i]
        }
        return true
    }

    /// Self when already contiguous, otherwise a dense row-major copy.
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        return copy()
    }

    /// The elements in row-major order of the view.
    public var scalars: [Float] {
        let c = contiguous()
        return Array(UnsafeBufferPointer(start: c.storage.base + c.offset, count: count))
    }

    /// The single element of a tensor with one element.
    public var item: Float {
        precondition(count == 1, "Tensor.item: needs exactly one element, shape is \(shape)")
        return storage.base[offset]
    }

    /// Element access by full index; for tests and small code paths, not kernels.
    public subscript(_ index: Int...) -> Float {
        get { storage.base[elementOffset(index)] }
        nonmutating set { storage.base[elementOffset(index)] = newValue }
    }

    func elementOffset(_ index: [Int]) -> Int {
        precondition(index.count == rank, "Tensor subscript: index \(index) has rank \(index.count), tensor shape is \(shape)")
        var p = offset
        for (d, i) in index.enumerated() {
            precondition(i >= 0 && i < shape[d], "Tensor subscript: index \(index) out of range for shape \(shape)")
            p += i * strides[d]
        }
        return p
    }

    /// Read access to the elements of a contiguous tensor (the pointer addresses element 0).
    @inlinable public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        precondition(isContiguous, "Tensor.withUnsafeBufferPointer: tensor with shape \(shape) strides \(strides) is not contiguous")
        return try body(UnsafeBufferPointer(start: storage.base + offset, count: count))
    }

    /// Write access to the elements of a contiguous tensor. Writes are seen by every view of the storage.
    @inlinable public func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        precondition(isContiguous, "Tensor.withUnsafeMutableBufferPointer: tensor with shape \(shape) strides \(strides) is not contiguous")
        return try body(UnsafeMutableBufferPointer(start: storage.base + offset, count: count))
    }

    /// A new contiguous tensor with the same elements.
    public func copy() -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        out.assign(self)
        return out
    }

    /// Writes the elements of `source` (same shape, any layout) into this view, row by row.
    public func assign(_ source: Tensor) {
        precondition(source.shape == shape, "Tensor.assign: shape \(source.shape) does not match \(shape)")
        let dst = storage.base, src = source.storage.base
        forEachRow(shape: shape, strides, offset, source.strides, source.offset, strides, offset) { o, i, _, n, so, si, _ in
            if so == 1 && si == 1 { (dst + o).update(from: src + i, count: n) }
            else { for j in 0..<n { dst[o + j * so] = src[i + j * si] } }
        }
    }

    /// Overwrites this contiguous view's elements with `scalars` (row-major), without building a
    /// tensor of them first (a step's exchanged gradients: one copy instead of two).
    public func assign(scalars: [Float]) {
        precondition(isContiguous && scalars.count == count,
                     "Tensor.assign(scalars:): \(scalars.count) scalars for a view of shape \(shape)\(isContiguous ? "" : " that is not contiguous")")
        scalars.withUnsafeBufferPointer { (storage.base + offset).update(from: $0.baseAddress!, count: count) }
    }

    /// Sets every element of this view to `value`.
    public func fill(_ value: Float) {
        let dst = storage.base
        forEachRow(shape: shape, strides, offset, strides, offset, strides, offset) { o, _, _, n, so, _, _ in
            if so == 1 { (dst + o).update(repeating: value, count: n) }
            else { for j in 0..<n { dst[o + j * so] = value } }
        }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let s = scalars
        let shown = s.prefix(16).map { "\($0)" }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(s.count > 16 ? ", ..." : "")])"
    }
}
