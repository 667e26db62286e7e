/// Elementwise kernels. Every loop runs 16 lanes at a time with a scalar tail, in a fixed order,
/// so results do not depend on threads or alignment.
public enum Kernels {}

protocol BinaryLaneOp {
    static func apply(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float>
    static func apply(_ a: Float, _ b: Float) -> Float
}
enum AddLanes: BinaryLaneOp {
    @inline(__always) static func apply(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { a + b }
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a + b }
}
enum SubLanes: BinaryLaneOp {
    @inline(__always) static func apply(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { a - b }
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a - b }
}
enum MulLanes: BinaryLaneOp {
    @inline(__always) static func apply(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { a * b }
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a * b }
}
enum DivLanes: BinaryLaneOp {
    @inline(__always) static func apply(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { a / b }
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a / b }
}

/// out[i] = a[i] op b[i] along one row; strides are 0 (broadcast) or anything else.
@inline(__always)
func binaryRow<Op: BinaryLaneOp>(_: Op.Type, _ o: UnsafeMutablePointer<Float>, _ so: Int,
                                 _ a: UnsafePointer<Float>, _ sa: Int, _ b: UnsafePointer<Float>, _ sb: Int, _ n: Int) {
    var i = 0
    if so == 1 && sa == 1 && sb == 1 {
        while i + 16 <= n { store16(Op.apply(load16(a + i), load16(b + i)), o + i); i += 16 }
        while i < n { o[i] = Op.apply(a[i], b[i]); i += 1 }
    } else if so == 1 && sa == 1 && sb == 0 {
        let bv = SIMD16<Float>(repeating: b[0])
        while i + 16 <= n { store16(Op.apply(load16(a + i), bv), o + i); i += 16 }
        while i < n { o[i] = Op.apply(a[i], b[0]); i += 1 }
    } else if so == 1 && sa == 0 && sb == 1 {
        let av = SIMD16<Float>(repeating: a[0])
        while i + 16 <= n { store16(Op.apply(av, load16(b + i)), o + i); i += 16 }
        while i < n { o[i] = Op.apply(a[0], b[i]); i += 1 }
    } else {
        while i < n { o[i * so] = Op.apply(a[i * sa], b[i * sb]); i += 1 }
    }
}

extension Kernels {
    /// `a op b` with NumPy broadcasting into a new contiguous tensor; `name` labels shape errors.
    static func binary<Op: BinaryLaneOp>(_ op: Op.Type, _ a: Tensor, _ b: Tensor, name: String) -> Tensor {
        let shape = Tensor.broadcastShape(a.shape, b.shape, op: name)
        let av = a.expanded(to: shape), bv = b.expanded(to: shape)
        let out = Tensor(uninitializedShape: shape)
        let po = out.storage.base, pa = av.storage.base, pb = bv.storage.base
        forEachRow(shape: shape, out.strides, 0, av.strides, av.offset, bv.strides, bv.offset) { oo, oa, ob, n, so, sa, sb in
            binaryRow(op, po + oo, so, pa + oa, sa, pb + ob, sb, n)
        }
        return out
    }

    public static func add(_ a: Tensor, _ b: Tensor) -> Tensor { binary(AddLanes.self, a, b, name: "add") }
    public static func sub(_ a: Tensor, _ b: Tensor) -> Tensor { binary(SubLanes.self, a, b, name: "sub") }
    public static func mul(_ a: Tensor, _ b: Tensor) -> Tensor { binary(MulLanes.self, a, b, name: "mul") }
    public static func div(_ a: Tensor, _ b: Tensor) -> Tensor { binary(DivLanes.self, a, b, name: "div") }

    /// dst += src, where src broadcasts to dst's shape.
    public static func addInPlace(_ dst: Tensor, _ src: Tensor) {
        let sv = src.expanded(to: dst.shape)
        let pd = dst.storage.base, ps = sv.storage.base
        forEachRow(shape: dst.shape, dst.strides, dst.offset, sv.strides, sv.offset, dst.strides, dst.offset) { od, os, _, n, sd, ss, _ in
            binaryRow(AddLanes.self, pd + od, sd, pd + od, sd, ps + os, ss, n)
        }
    }

    /// alpha * t as a new contiguous tensor.
    public static func scale(_ t: Tensor, _ alpha: Float) -> Tensor {
        map(t) { $0 * alpha } lanes: { $0 * alpha }
    }

    /// f applied to every element into a new contiguous tensor; `lanes` is the 16-wide form.
    @inline(__always)
    static func map(_ t: Tensor, _ f: (Float) -> Float, lanes: (SIMD16<Float>) -> SIMD16<Float>) -> Tensor {
        let x = t.contiguous()
        let out = Tensor(uninitializedShape: t.shape)
        let n = x.count
        let px = UnsafePointer(x.storage.base + x.offset), po = out.storage.base
        var i = 0
        while i + 16 <= n { store16(lanes(load16(px + i)), po + i); i += 16 }
        while i < n { po[i] = f(px[i]); i += 1 }
        return out
    }

    /// f(a[i], b[i]) for two same-shaped tensors into a new contiguous tensor.
    @inline(__always)
    static func zip(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float,
                    lanes: (SIMD16<Float>, SIMD16<Float>) -> SIMD16<Float>) -> Tensor {
        precondition(a.shape == b.shape, "zip: shapes \(a.shape) and \(b.shape) differ")
        let x = a.contiguous(), y = b.contiguous()
        let out = Tensor(uninitializedShape: a.shape)
        let n = x.count
        let px = UnsafePointer(x.storage.base + x.offset), py = UnsafePointer(y.storage.base + y.offset), po = out.storage.base
        var i = 0
        while i + 16 <= n { store16(lanes(load16(px + i), load16(py + i)), po + i); i += 16 }
        while i < n { po[i] = f(px[i], py[i]); i += 1 }
        return out
    }
}
