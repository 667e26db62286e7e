/// Tensor-level GEMM: turns strided 2-D/3-D views into `sgemm` operands. A transposed view is
/// passed as a transpose flag, not copied; any other non-unit-stride layout is copied once.

/// How one matrix (or a batch of them) reaches the GEMM.
struct MatrixOperand {
    let tensor: Tensor      // keeps the storage alive
    let ld: Int
    let transposed: Bool
    let batchStride: Int    // elements between matrices; 0 = shared across the batch
    var pointer: UnsafePointer<Float> { UnsafePointer(tensor.storage.base + tensor.offset) }

    /// `t` is `[R, C]` or `[batch, R, C]`; the logical matrix is R x C.
    init(_ t: Tensor) {
        let r = t.rank
        precondition(r == 2 || r == 3, "matmul operand must be 2-D or 3-D, got shape \(t.shape)")
        let rows = t.shape[r - 2], cols = t.shape[r - 1]
        let sr = t.strides[r - 2], sc = t.strides[r - 1]
        let bs = r == 3 ? (t.shape[0] == 1 ? 0 : t.strides[0]) : 0
        if (sc == 1 || cols == 1) && (sr >= max(cols, 1) || rows == 1) {
            self.init(tensor: t, ld: rows == 1 ? max(cols, 1) : sr, transposed: false, batchStride: bs)
        } else if (sr == 1 || rows == 1) && (sc >= max(rows, 1) || cols == 1) {
            self.init(tensor: t, ld: cols == 1 ? max(rows, 1) : sc, transposed: true, batchStride: bs)
        } else {
            let c = t.contiguous()
            self.init(tensor: c, ld: max(cols, 1), transposed: false, batchStride: r == 3 && t.shape[0] != 1 ? rows * cols : 0)
        }
    }

    private init(tensor: Tensor, ld: Int, transposed: Bool, batchStride: Int) {
        self.tensor = tensor; self.ld = ld; self.transposed = transposed; self.batchStride = batchStride
    }
}

extension Kernels {
    /// `act(a · b + bias + beta * into)` for logical matrices `a` `[M, K]` and `b` `[K, N]`
    /// (either may be a transposed view), `bias` `[N]`. With `into` (contiguous `[M, N]`) the
    /// result is written there (beta 1 accumulates, as for gradient buffers) and returned;
    /// otherwise a new tensor is returned. `bfloat16` rounds `a` and `b` to bfloat16 as the GEMM
    /// reads them (Float accumulation; see `sgemm`).
    public static func matmul(_ a: Tensor, _ b: Tensor, bias: Tensor? = nil, relu: Bool = false,
                              into: Tensor? = nil, beta: Float = 0, bfloat16: Bool = false) -> Tensor {
        precondition(a.rank == 2 && b.rank == 2, "matmul: expected 2-D operands, got \(a.shape) and \(b.shape)")
        let m = a.shape[0], k = a.shape[1], n = b.shape[1]
        precondition(b.shape[0] == k, "matmul: inner dimensions differ: \(a.shape) x \(b.shape)")
        if let bias { precondition(bias.shape == [n], "matmul: bias shape \(bias.shape) does not match output columns \(n)") }
        let out = into ?? Tensor(uninitializedShape: [m, n])
        precondition(out.shape == [m, n] && out.isContiguous, "matmul: output buffer shape \(out.shape) is not a contiguous [\(m), \(n)]")
        let oa = MatrixOperand(a), ob = MatrixOperand(b)
        let biasC = bias?.contiguous()
        withExtendedLifetime((oa, ob, biasC)) {
            sgemm(transA: oa.transposed, transB: ob.transposed, m: m, n: n, k: k, alpha: 1,
                  a: oa.pointer, lda: oa.ld, b: ob.pointer, ldb: ob.ld,
                  beta: into == nil ? 0 : beta, c: out.storage.base + out.offset, ldc: max(n, 1),
                  bias: biasC.map { UnsafePointer($0.storage.base + $0.offset) }, relu: relu,
                  roundToBFloat16: bfloat16)
        }
        return out
    }

    /// Batched form: `a` `[E, M, K]` or `[M, K]` (shared), `b` `[E, K, N]` or `[K, N]` (shared),
    /// `bias` `[E, N]` or `[N]`; result `[E, M, N]`. One GEMM call covers the whole batch.
    public static func batchedMatmul(_ a: Tensor, _ b: Tensor, bias: Tensor? = nil, relu: Bool = false,
                                     into: Tensor? = nil, beta: Float = 0, bfloat16: Bool = false) -> Tensor {
        precondition(a.rank == 3 || b.rank == 3, "batchedMatmul: one operand must be 3-D, got \(a.shape) and \(b.shape)")
        let e = a.rank == 3 ? a.shape[0] : b.shape[0]
        if a.rank == 3 && b.rank == 3 { precondition(a.shape[0] == b.shape[0], "batchedMatmul: batch sizes differ: \(a.shape) x \(b.shape)") }
        let m = a.shape[a.rank - 2], k = a.shape[a.rank - 1], n = b.shape[b.rank - 1]
        precondition(b.shape[b.rank - 2] == k, "batchedMatmul: inner dimensions differ: \(a.shape) x \(b.shape)")
        var biasStride = 0
        if let bias {
            precondition(bias.shape == [n] || bias.shape == [e, n], "batchedMatmul: bias shape \(bias.shape) is neither [\(n)] nor [\(e), \(n)]")
            biasStride = bias.rank == 2 ? n : 0
        }
        let out = into ?? Tensor(uninitializedShape: [e, m, n])
        precondition(out.shape == [e, m, n] && out.isContiguous, "batchedMatmul: output buffer shape \(out.shape) is not a contiguous [\(e), \(m), \(n)]")
        let oa = MatrixOperand(a), ob = MatrixOperand(b)
        let biasC = bias?.contiguous()
        withExtendedLifetime((oa, ob, biasC)) {
            sgemmBatched(batch: e, transA: oa.transposed, transB: ob.transposed, m: m, n: n, k: k, alpha: 1,
                         a: oa.pointer, lda: oa.ld, strideA: oa.batchStride,
                         b: ob.pointer, ldb: ob.ld, strideB: ob.batchStride,
                         beta: into == nil ? 0 : beta, c: out.storage.base + out.offset, ldc: max(n, 1), strideC: m * n,
                         bias: biasC.map { UnsafePointer($0.storage.base + $0.offset) }, strideBias: biasStride, relu: relu,
                         roundToBFloat16: bfloat16)
        }
        return out
    }
}
