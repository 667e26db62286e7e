/// Joins tensors along an existing dimension `axis`; all other dimensions must match.
public func concat(_ parts: [Variable], axis: Int) -> Variable {
    precondition(!parts.isEmpty, "concat: no inputs")
    let r = parts[0].rank
    let ax = axis < 0 ? axis + r : axis
    precondition(ax >= 0 && ax < r, "concat: axis \(axis) out of range for rank \(r)")
    var outShape = parts[0].shape
    outShape[ax] = 0
    for p in parts {
        var s = p.shape, o = parts[0].shape
        s[ax] = 0; o[ax] = 0
        precondition(p.rank == r && s == o, "concat: shapes \(parts[0].shape) and \(p.shape) differ outside axis \(ax)")
        outShape[ax] += p.shape[ax]
    }
    let tape = parts[0].tape
    var ranges: [Range<Int>] = []
    let out = tape.timed("concat") {
        let out = Tensor(uninitializedShape: outShape)
        var start = 0
        for p in parts {
            let range = start..<(start + p.shape[ax])
            out.slice(ax, range).assign(p.value)
            ranges.append(range)
            start = range.upperBound
        }
        return out
    }
    return tape.record(out, inputs: parts, name: "concat") { ConcatBackward(inputs: parts.map(\.id), ranges: ranges, axis: ax) }
}

/// Joins equally-shaped tensors along a new dimension `axis`.
public func stack(_ parts: [Variable], axis: Int = 0) -> Variable {
    precondition(!parts.isEmpty, "stack: no inputs")
    let ax = axis < 0 ? axis + parts[0].rank + 1 : axis
    for p in parts { precondition(p.shape == parts[0].shape, "stack: shapes \(parts[0].shape) and \(p.shape) differ") }
    return concat(parts.map { $0.reshaped(unsqueezedShape($0.shape, ax)) }, axis: ax)
}

private func unsqueezedShape(_ s: [Int], _ axis: Int) -> [Int] {
    precondition(axis >= 0 && axis <= s.count, "stack: axis \(axis) out of range for shape \(s)")
    var out = s
    out.insert(1, at: axis)
    return out
}

/// Each input's gradient is its slice of the output gradient.
struct ConcatBackward: BackwardOp {
    let inputs: [Int], ranges: [Range<Int>], axis: Int
    func backward(_ grad: Tensor, _ tape: Tape) {
        for (id, range) in zip(inputs, ranges) where id >= 0 {
            tape.accumulate(id, grad.slice(axis, range).contiguous())
        }
    }
}
