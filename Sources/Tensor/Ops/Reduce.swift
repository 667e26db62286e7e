extension Variable {
    /// Sum over `axes` (all axes when nil). `keepDims` keeps reduced dimensions as size 1.
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Variable {
        let ax = normalizedAxes(axes)
        let kept = tape.timed("sum") { Kernels.sum(value, axes: ax) }
        let out = keepDims ? kept : kept.reshaped(reducedShape(ax))
        return tape.record(out, input: self, name: "sum") { SumBackward(input: id, inputShape: shape, keptShape: kept.shape, scale: 1) }
    }

    /// Mean over `axes` (all axes when nil).
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Variable {
        let ax = normalizedAxes(axes)
        let n = ax.reduce(1) { $0 * shape[$1] }
        precondition(n > 0, "mean: reducing an empty dimension of shape \(shape)")
        let kept = tape.timed("mean") { Kernels.scale(Kernels.sum(value, axes: ax), 1 / Float(n)) }
        let out = keepDims ? kept : kept.reshaped(reducedShape(ax))
        return tape.record(out, input: self, name: "mean") { SumBackward(input: id, inputShape: shape, keptShape: kept.shape, scale: 1 / Float(n)) }
    }

    private func normalizedAxes(_ axes: [Int]?) -> [Int] {
        guard let axes else { return Array(0..<rank) }
        let ax = axes.map { $0 < 0 ? $0 + rank : $0 }
        precondition(ax.allSatisfy { $0 >= 0 && $0 < rank } && Set(ax).count == ax.count, "sum/mean: axes \(axes) invalid for shape \(shape)")
        return ax
    }

    private func reducedShape(_ axes: [Int]) -> [Int] {
        shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
    }
}

/// The gradient of a sum is the output gradient repeated over the reduced dimensions (scaled for mean).
struct SumBackward: BackwardOp {
    let input: Int, inputShape: [Int], keptShape: [Int], scale: Float
    func backward(_ grad: Tensor, _ tape: Tape) {
        let g = grad.reshaped(keptShape).expanded(to: inputShape)
        tape.accumulate(input, scale == 1 ? g.contiguous() : Kernels.scale(g, scale))
    }
}
