/// Views: new shapes and strides over the same storage, no element copied.
extension Tensor {
    /// The same elements with a new shape. One dimension may be -1 (inferred). Returns a view when
    /// the layout allows it (always for contiguous tensors), otherwise a reshaped copy.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        let known = newShape.filter { $0 != -1 }.reduce(1, *)
        let inferred = newShape.filter { $0 == -1 }.count
        precondition(inferred <= 1, "reshape: at most one -1 allowed, got \(newShape)")
        if inferred == 1 {
            precondition(known > 0 && count % known == 0, "reshape: cannot reshape \(shape) to \(newShape)")
            target[newShape.firstIndex(of: -1)!] = count / known
        }
        precondition(target.reduce(1, *) == count, "reshape: cannot reshape \(shape) (\(count) elements) to \(newShape)")
        if isContiguous {
            return Tensor(storage: storage, shape: target, strides: Tensor.contiguousStrides(target), offset: offset)
        }
        return contiguous().reshaped(target)
    }

    /// Dimensions reordered: result dimension i is dimension `order[i]` of self.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.sorted() == Array(0..<rank), "permute: \(order) is not a permutation of the \(rank) dimensions of \(shape)")
        return Tensor(storage: storage, shape: order.map { shape[$0] }, strides: order.map { strides[$0] }, offset: offset)
    }

    /// Two dimensions swapped (default: the last two).
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor { permuted(transposeOrder(a, b)) }

    /// The permutation that swaps dimensions `a` and `b` (negative counts from the end).
    public func transposeOrder(_ a: Int, _ b: Int) -> [Int] {
        let i = a < 0 ? rank + a : a, j = b < 0 ? rank + b : b
        precondition(i >= 0 && i < rank && j >= 0 && j < rank, "transpose: dimensions \(a), \(b) out of range for shape \(shape)")
        var order = Array(0..<rank)
        order.swapAt(i, j)
        return order
    }

    /// Elements `range` along dimension `dim` (a view).
    public func slice(_ dim: Int, _ range: Range<Int>) -> Tensor {
        let d = dim < 0 ? rank + dim : dim
        precondition(d >= 0 && d < rank, "slice: dimension \(dim) out of range for shape \(shape)")
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[d], "slice: range \(range) out of bounds for dimension \(d) of shape \(shape)")
        var newShape = shape
        newShape[d] = range.count
        return Tensor(storage: storage, shape: newShape, strides: strides,
                      offset: range.isEmpty ? offset : offset + range.lowerBound * strides[d])
    }

    /// Entry `index` along dimension `dim`, with that dimension removed (a view, never a copy).
    public func select(_ dim: Int, _ index: Int) -> Tensor {
        let d = dim < 0 ? rank + dim : dim
        precondition(d >= 0 && d < rank, "select: dimension \(dim) out of range for shape \(shape)")
        precondition(index >= 0 && index < shape[d], "select: index \(index) out of range for dimension \(d) of shape \(shape)")
        var s = shape, st = strides
        s.remove(at: d)
        st.remove(at: d)
        return Tensor(storage: storage, shape: s, strides: st, offset: offset + index * strides[d])
    }

    /// Size-1 dimensions repeated to `newShape` with stride 0 (a view); leading dimensions may be added.
    public func expanded(to newShape: [Int]) -> Tensor {
        precondition(newShape.count >= rank, "expand: cannot expand \(shape) to fewer dimensions \(newShape)")
        let lead = newShape.count - rank
        var newStrides = [Int](repeating: 0, count: newShape.count)
        for i in 0..<newShape.count {
            if i < lead { continue }
            let d = shape[i - lead]
            if d == newShape[i] { newStrides[i] = strides[i - lead] }
            else {
                precondition(d == 1, "expand: cannot expand \(shape) to \(newShape)")
                newStrides[i] = 0
            }
        }
        return Tensor(storage: storage, shape: newShape, strides: newStrides, offset: offset)
    }

    /// A size-1 dimension inserted at `dim`.
    public func unsqueezed(_ dim: Int) -> Tensor {
        let d = dim < 0 ? rank + 1 + dim : dim
        precondition(d >= 0 && d <= rank, "unsqueeze: dimension \(dim) out of range for shape \(shape)")
        var s = shape, st = strides
        s.insert(1, at: d)
        st.insert(d < rank ? strides[d] * shape[d] : 1, at: d)
        return Tensor(storage: storage, shape: s, strides: st, offset: offset)
    }

    /// The shape two tensors broadcast to (NumPy rules), or a precondition failure naming `op`.
    public static func broadcastShape(_ a: [Int], _ b: [Int], op: String) -> [Int] {
        let n = max(a.count, b.count)
        var out = [Int](repeating: 1, count: n)
        for i in 0..<n {
            let da = i < n - a.count ? 1 : a[i - (n - a.count)]
            let db = i < n - b.count ? 1 : b[i - (n - b.count)]
            precondition(da == db || da == 1 || db == 1, "\(op): shapes \(a) and \(b) do not broadcast")
            out[i] = da == 1 ? db : da
        }
        return out
    }
}
