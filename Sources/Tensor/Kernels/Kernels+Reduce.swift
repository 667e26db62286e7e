extension Kernels {
    /// Sum over `axes` (negative allowed) with the reduced dimensions kept as size 1. Each output
    /// element is accumulated in row-major order of the input, so the result is deterministic.
    public static func sum(_ t: Tensor, axes: [Int]) -> Tensor {
        let axesSet = Set(axes.map { $0 < 0 ? $0 + t.rank : $0 })
        precondition(axesSet.allSatisfy { $0 >= 0 && $0 < t.rank }, "sum: axes \(axes) out of range for shape \(t.shape)")
        var outShape = t.shape
        for a in axesSet { outShape[a] = 1 }
        let out = Tensor(shape: outShape, repeating: 0)
        let view = out.expanded(to: t.shape) // stride 0 along the reduced axes
        let po = out.storage.base, pt = t.storage.base
        forEachRow(shape: t.shape, view.strides, 0, t.strides, t.offset, view.strides, 0) { oo, ot, _, n, so, st, _ in
            let dst = po + oo, src = UnsafePointer(pt + ot)
            if so == 0 {
                // The whole row folds into one element: 16 partial sums, then a fixed-order tree.
                var i = 0
                var acc = SIMD16<Float>()
                if st == 1 { while i + 16 <= n { acc += load16(src + i); i += 16 } }
                var s = acc.sum()
                while i < n { s += src[i * st]; i += 1 }
                dst[0] += s
            } else {
                binaryRow(AddLanes.self, dst, so, dst, so, src, st, n)
            }
        }
        return out
    }

    /// Sums a broadcast gradient back to `shape` (the shape of the op's input before broadcasting).
    public static func sumToShape(_ g: Tensor, _ shape: [Int]) -> Tensor {
        if g.shape == shape { return g }
        let lead = g.rank - shape.count
        var axes = Array(0..<lead)
        for i in 0..<shape.count where shape[i] == 1 && g.shape[lead + i] != 1 { axes.append(lead + i) }
        return sum(g, axes: axes).reshaped(shape)
    }
}
