import Foundation

extension Variable {
    /// Softmax along `axis`: exp(x - max) / Σ exp(x - max). Subtracting the row maximum keeps every
    /// exponent <= 0, so no overflow at any logit size.
    public func softmax(axis: Int = -1) -> Variable {
        let ax = axis < 0 ? rank + axis : axis
        precondition(ax >= 0 && ax < rank, "softmax: axis \(axis) out of range for shape \(shape)")
        let out = tape.timed("softmax") { Kernels.alongLastAxis(value, axis: ax) { x, y, n in Kernels.softmaxRow(x, y, n) } }
        return tape.record(out, input: self, name: "softmax") { SoftmaxBackward(input: id, out: out, axis: ax) }
    }

    /// log(softmax(x)) along `axis`, computed as x - max - log Σ exp(x - max) (never log of 0).
    public func logSoftmax(axis: Int = -1) -> Variable {
        let ax = axis < 0 ? rank + axis : axis
        precondition(ax >= 0 && ax < rank, "logSoftmax: axis \(axis) out of range for shape \(shape)")
        let out = tape.timed("log_softmax") { Kernels.alongLastAxis(value, axis: ax) { x, y, n in Kernels.logSoftmaxRow(x, y, n) } }
        return tape.record(out, input: self, name: "log_softmax") { LogSoftmaxBackward(input: id, out: out, axis: ax) }
    }
}

/// dx = y * (dy - Σ dy·y) along the axis.
struct SoftmaxBackward: BackwardOp {
    let input: Int, out: Tensor, axis: Int
    func backward(_ grad: Tensor, _ tape: Tape) {
        if axis == out.rank - 1 && out.isContiguous {
            tape.accumulate(input, Kernels.softmaxBackwardLastAxis(grad.contiguous(), out))
            return
        }
        let gy = Kernels.mul(grad, out)
        let s = Kernels.sum(gy, axes: [axis])
        tape.accumulate(input, Kernels.mul(out, Kernels.sub(grad, s)))
    }
}

/// dx = dy - softmax(x) * Σ dy along the axis, with softmax = exp(y).
struct LogSoftmaxBackward: BackwardOp {
    let input: Int, out: Tensor, axis: Int
    func backward(_ grad: Tensor, _ tape: Tape) {
        let s = Kernels.sum(grad, axes: [axis])
        let p = Kernels.map(out, { exp($0) }, lanes: { v in
            var r = v
            for i in 0..<16 { r[i] = exp(v[i]) }
            return r
        })
        tape.accumulate(input, Kernels.sub(grad, Kernels.mul(p, s)))
    }
}

extension Kernels {
    /// Applies `row(x, y, n)` to every length-n line along `axis` and returns a tensor of x's shape.
    /// The axis is moved last (one copy when it is not already innermost).
    static func alongLastAxis(_ t: Tensor, axis: Int,
                              _ row: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
        var order = Array(0..<t.rank)
        order.remove(at: axis)
        order.append(axis)
        let moved = t.permuted(order).contiguous()
        let n = t.shape[axis]
        let out = Tensor(uninitializedShape: moved.shape)
        if n > 0 {
            let px = UnsafePointer(moved.storage.base + moved.offset), po = out.storage.base
            for r in 0..<(moved.count / n) { row(px + r * n, po + r * n, n) }
        }
        if axis == t.rank - 1 { return out }
        var inverse = [Int](repeating: 0, count: t.rank)
        for (i, o) in order.enumerated() { inverse[o] = i }
        return out.permuted(inverse).contiguous()
    }

    /// The softmax backward along the last axis of contiguous `grad` and `out`, one pass per row:
    /// s = Σ dy·y (16 partial sums, their sum, then the tail, as `sum` adds a row), then
    /// dx = y · (dy - s); the bits of the mul, sum, sub and mul it replaces.
    static func softmaxBackwardLastAxis(_ grad: Tensor, _ out: Tensor) -> Tensor {
        let n = out.shape.last ?? 0
        let dx = Tensor(uninitializedShape: out.shape)
        guard n > 0 else { return dx }
        let pg = UnsafePointer(grad.storage.base + grad.offset), py = UnsafePointer(out.storage.base + out.offset)
        let pd = dx.storage.base
        for r in 0..<(out.count / n) {
            let g = pg + r * n, y = py + r * n, d = pd + r * n
            var acc = SIMD16<Float>()
            var i = 0
            while i + 16 <= n { acc += load16(g + i) * load16(y + i); i += 16 }
            var s = acc.sum()
            while i < n { s += g[i] * y[i]; i += 1 }
            s = 0 + s
            i = 0
            let sv = SIMD16<Float>(repeating: s)
            while i + 16 <= n { store16(load16(y + i) * (load16(g + i) - sv), d + i); i += 16 }
            while i < n { d[i] = y[i] * (g[i] - s); i += 1 }
        }
        return dx
    }

    @inline(__always) static func softmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        var m = -Float.infinity
        for i in 0..<n { m = max(m, x[i]) }
        var s: Float = 0
        for i in 0..<n { let e = exp(x[i] - m); y[i] = e; s += e }
        let inv = 1 / s
        for i in 0..<n { y[i] *= inv }
    }

    @inline(__always) static func logSoftmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        var m = -Float.infinity
        for i in 0..<n { m = max(m, x[i]) }
        var s: Float = 0
        for i in 0..<n { s += exp(x[i] - m) }
        let lse = m + log(s)
        for i in 0..<n { y[i] = x[i] - lse }
    }
}
