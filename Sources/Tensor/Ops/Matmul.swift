extension Variable {
    /// Matrix product. `[M, K] x [K, N] -> [M, N]`; with a 3-D operand the product is batched:
    /// `[E, M, K] x [E, K, N]`, `[M, K] x [E, K, N]` or `[E, M, K] x [K, N]` give `[E, M, N]`.
    public func matmul(_ other: Variable) -> Variable {
        let bf16 = tape.options.bfloat16
        let out = tape.timed("matmul") {
            rank == 2 && other.rank == 2
                ? Kernels.matmul(value, other.value, bfloat16: bf16)
                : Kernels.batchedMatmul(value, other.value, bfloat16: bf16)
        }
        return tape.record(out, inputs: [self, other], name: "matmul") { MatmulBackward(a: id, aValue: value, b: other.id, bValue: other.value) }
    }
}

/// dA = dC · Bᵀ, dB = Aᵀ · dC (per batch; a shared 2-D operand sums its gradient over the batch).
struct MatmulBackward: BackwardOp {
    let a: Int, aValue: Tensor, b: Int, bValue: Tensor
    func backward(_ grad: Tensor, _ tape: Tape) {
        if a >= 0 { tape.accumulateProduct(grad, bValue.transposed(), into: a, nodeShape: aValue.shape) }
        if b >= 0 { tape.accumulateProduct(aValue.transposed(), grad, into: b, nodeShape: bValue.shape) }
    }
}

extension Tape {
    /// Adds `lhs · rhs` to the gradient of node `id` whose value has shape `shape`. Handles the
    /// batched cases: a 3-D product summed into a 2-D (shared) node one batch entry at a time, in
    /// order. Parameter gradients are written in place by the GEMM (beta = 1): no temporary.
    /// With `options.bfloat16` the product's operands are rounded like the forward's.
    func accumulateProduct(_ lhs: Tensor, _ rhs: Tensor, into id: Int, nodeShape shape: [Int]) {
        let batched = lhs.rank == 3 || rhs.rank == 3
        let target = parameterGradient(id)
        let bf16 = options.bfloat16
        if !batched {
            if let target { _ = Kernels.matmul(lhs, rhs, into: target.grad, beta: target.beta, bfloat16: bf16) }
            else { accumulate(id, Kernels.matmul(lhs, rhs, bfloat16: bf16)) }
            return
        }
        if shape.count == 3 {
            if let target { _ = Kernels.batchedMatmul(lhs, rhs, into: target.grad, beta: target.beta, bfloat16: bf16) }
            else { accumulate(id, Kernels.batchedMatmul(lhs, rhs, bfloat16: bf16)) }
            return
        }
        // Shared 2-D node: sum the per-batch products in a fixed order.
        let e = lhs.rank == 3 ? lhs.shape[0] : rhs.shape[0]
        let buffer = target?.grad ?? Tensor(shape: shape, repeating: 0)
        // No product to overwrite a gradient that only counts as zero: make it zeros.
        if e == 0, let target, target.beta == 0 { Kernels.zero(buffer) }
        for i in 0..<e {
            let l = lhs.rank == 3 ? lhs.select(0, i) : lhs
            let r = rhs.rank == 3 ? rhs.select(0, i) : rhs
            _ = Kernels.matmul(l, r, into: buffer, beta: i == 0 ? target?.beta ?? 1 : 1, bfloat16: bf16)
        }
        if target == nil { accumulate(id, buffer) }
    }
}
