extension Kernels {
    /// x *= factor over a contiguous tensor; returns whether every product is finite. Loss scaling
    /// unscales gradients with it and learns in the same pass whether the scaled backward overflowed.
    public static func scaleCheckingFinite(_ x: Tensor, by factor: Float) -> Bool {
        precondition(x.isContiguous, "scaleCheckingFinite: needs a contiguous tensor, got shape \(x.shape) strides \(x.strides)")
        return scaleCheckingFinite(UnsafeMutableBufferPointer(start: x.storage.base + x.offset, count: x.count), by: factor)
    }

    /// The same over a raw buffer (an embedding table's compact gradient rows).
    /// NOTE: `v * 0` is 0 (or -0) for a finite v and NaN for an infinite or NaN one, so summing it
    /// into an accumulator leaves 0 exactly when every value is finite: no branch in the loop.
    static func scaleCheckingFinite(_ x: UnsafeMutableBufferPointer<Float>, by factor: Float) -> Bool {
        guard let p = x.baseAddress else { return true }
        let n = x.count
        let f = SIMD16<Float>(repeating: factor)
        var probe = SIMD16<Float>()
        var i = 0
        while i + 16 <= n {
            let v = load16(p + i) * f
            store16(v, p + i)
            probe += v * 0
            i += 16
        }
        var tail: Float = 0
        while i < n {
            let v = p[i] * factor
            p[i] = v
            tail += v * 0
            i += 1
        }
        return probe.sum() + tail == 0
    }
}

extension Kernels {
    /// Whether every value of a contiguous tensor is finite, read only, with the same branch-free
    /// `v * 0` probe as `scaleCheckingFinite`: what a save checks before it writes weights.
    public static func allFinite(_ x: Tensor) -> Bool {
        precondition(x.isContiguous, "allFinite: needs a contiguous tensor, got shape \(x.shape) strides \(x.strides)")
        let p = UnsafePointer(x.storage.base + x.offset), n = x.count
        var probe = SIMD16<Float>()
        var i = 0
        while i + 16 <= n {
            probe += load16(p + i) * 0
            i += 16
        }
        var tail: Float = 0
        while i < n {
            tail += p[i] * 0
            i += 1
        }
        return probe.sum() + tail == 0
    }
}
