extension Kernels {
    /// y += alpha · x over two contiguous tensors of the same element count (L2 regularisation
    /// adds l2 · w to a weight's gradient this way).
    public static func axpy(_ alpha: Float, _ x: Tensor, into y: Tensor) {
        precondition(x.isContiguous && y.isContiguous && x.count == y.count, "axpy: needs two contiguous tensors of one size, got \(x.shape) and \(y.shape)")
        let n = x.count
        let px = UnsafePointer(x.storage.base + x.offset), py = y.storage.base + y.offset
        let a = SIMD16<Float>(repeating: alpha)
        var i = 0
        while i + 16 <= n {
            store16(load16(py + i) + a * load16(px + i), py + i)
            i += 16
        }
        while i < n {
            py[i] += alpha * px[i]
            i += 1
        }
    }
}
