/// Single-precision GEMM on row-major matrices:
///
///     C = act(alpha * op(A) * op(B) + beta * C + bias)
///
/// `op(A)` is `m x k`: A is stored `m x k` (row stride `lda >= k`) or, with `transA`, `k x m`
/// (`lda >= m`). Likewise `op(B)` is `k x n` from B stored `k x n` or, with `transB`, `n x k`.
/// `bias`, when given, has `n` elements added to every row of C; `relu` clamps the result at zero.
/// When `beta == 0`, C is write-only: its old contents (even NaN) never reach the result.
/// With `roundToBFloat16`, every element of A and B is rounded to the nearest bfloat16 (ties to
/// even, NaN kept) before it is multiplied; products and sums stay Float. The result is then that
/// of the plain GEMM on pre-rounded operands, whichever kernel runs (C, bias and alpha are not rounded).
///
/// Results are bit-identical for any `threads`: threads split the output into disjoint blocks and
/// every element is accumulated over k in the same order whatever the split.
public func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                  a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                  beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
                  bias: UnsafePointer<Float>? = nil, relu: Bool = false, roundToBFloat16: Bool = false,
                  threads: Int = Parallel.threads) {
    let p = GEMMProblem(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                        b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, bias: bias, relu: relu,
                        roundToBFloat16: roundToBFloat16)
    gemmRun([p], threads: threads)
}

/// `batch` independent GEMMs with the contract of `sgemm`; matrix `i` of A, B, C (and the bias)
/// starts `i * strideA` (`strideB`, `strideC`, `strideBias`) elements after the first. A stride of 0
/// shares one operand across the batch (the experts' common input).
public func sgemmBatched(batch: Int, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                         a: UnsafePointer<Float>, lda: Int, strideA: Int,
                         b: UnsafePointer<Float>, ldb: Int, strideB: Int,
                         beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int,
                         bias: UnsafePointer<Float>? = nil, strideBias: Int = 0, relu: Bool = false,
                         roundToBFloat16: Bool = false, threads: Int = Parallel.threads) {
    precondition(batch >= 0, "sgemmBatched: negative batch \(batch)")
    let problems = (0..<batch).map { i in
        GEMMProblem(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                    a: a + i * strideA, lda: lda, b: b + i * strideB, ldb: ldb, beta: beta,
                    c: c + i * strideC, ldc: ldc, bias: bias.map { $0 + i * strideBias }, relu: relu,
                    roundToBFloat16: roundToBFloat16)
    }
    gemmRun(problems, threads: threads)
}

/// Below this many flops per part, splitting across threads costs more (dispatch, duplicated
/// packing) than it saves.
private let gemmMinFlopsPerPart = 1 << 18

/// Cuts each problem into up to `parts` disjoint output blocks and runs them on `threads` threads.
/// NOTE: the kernel chosen for a problem (small-n or blocked) depends only on its shape, and blocks
/// are cut on tile boundaries of that kernel, so a block computes each of its elements exactly as
/// the unsplit problem would: splitting never changes a bit of the result.
func gemmRun(_ problems: [GEMMProblem], threads: Int) {
    guard let first = problems.first else { return }
    precondition(first.m >= 0 && first.n >= 0 && first.k >= 0,
                 "sgemm: negative dimension m=\(first.m) n=\(first.n) k=\(first.k)")
    if first.m == 0 || first.n == 0 { return }
    // Inside a parallel job (the pool busy) the blocks would run inline one after the other
    // anyway; cutting the problem would only repeat its packing.
    let threads = GEMMWorkerPool.shared.isRunning ? 1 : max(1, threads)
    // When the batch already divides evenly among the threads, whole GEMMs are the best unit;
    // otherwise each GEMM is also cut into `threads` parts so the load balances.
    let parts = threads == 1 || problems.count % threads == 0 ? 1 : threads
    var tasks: [GEMMProblem] = []
    tasks.reserveCapacity(problems.count * parts)
    for p in problems { gemmSplit(p, parts: parts, into: &tasks) }
    if tasks.count == 1 || threads == 1 {
        GEMMScratchPool.with { s in gemmSolveInOrder(tasks, scratch: s) }
    } else {
        let workers = min(threads, tasks.count)
        GEMMWorkerPool.shared.run(workers: workers) { w in
            GEMMScratchPool.with { s in gemmSolveInOrder(tasks, first: w, stride: workers, scratch: s) }
        }
    }
}

/// Appends `p` cut into at most `parts` blocks of whole row (or column) tiles.
private func gemmSplit(_ p: GEMMProblem, parts: Int, into tasks: inout [GEMMProblem]) {
    let flops = 2 * p.m * p.n * max(p.k, 1)
    var parts = min(parts, max(1, flops / gemmMinFlopsPerPart))
    if p.n <= gemmSmallN {
        let unit = gemmSmallNRowUnit
        let units = (p.m + unit - 1) / unit
        parts = min(parts, units)
        for t in 0..<parts {
            let lo = t * units / parts * unit, hi = min(p.m, (t + 1) * units / parts * unit)
            tasks.append(p.block(rows: lo, hi - lo, cols: 0, p.n))
        }
        return
    }
    let mPanels = (p.m + gemmMR - 1) / gemmMR, nPanels = (p.n + gemmNR - 1) / gemmNR
    // Split the dimension with more tiles (finer balance). Splitting m repeats the packing of B in
    // every part, splitting n repeats the packing of A; both are small next to the multiply.
    if mPanels >= nPanels {
        parts = min(parts, mPanels)
        for t in 0..<parts {
            let lo = t * mPanels / parts * gemmMR, hi = min(p.m, (t + 1) * mPanels / parts * gemmMR)
            tasks.append(p.block(rows: lo, hi - lo, cols: 0, p.n))
        }
    } else {
        parts = min(parts, nPanels)
        for t in 0..<parts {
            let lo = t * nPanels / parts * gemmNR, hi = min(p.n, (t + 1) * nPanels / parts * gemmNR)
            tasks.append(p.block(rows: 0, p.m, cols: lo, hi - lo))
        }
    }
}

/// One block on the calling thread (`aPack`: see `gemmSolveInOrder`).
func gemmSolve(_ p: GEMMProblem, scratch: GEMMScratch, aPack: GEMMAPackReuse = .none) {
    if p.m == 0 || p.n == 0 { return }
    if p.k == 0 {
        // C = act(beta*C + bias); C is not read when beta == 0.
        for i in 0..<p.m {
            let row = p.c + i * p.ldc
            for j in 0..<p.n {
                var v: Float = p.beta == 0 ? 0 : p.beta * row[j]
                if let bias = p.bias { v = v + bias[j] }
                if p.relu && v < 0 { v = 0 }
                row[j] = v
            }
        }
        return
    }
    if p.n <= gemmSmallN {
        gemmSmallN(p, scratch: scratch)
    } else if p.k <= gemmSmallK {
        gemmSmallK(p, scratch: scratch)
    } else {
        gemmBlocked(p, scratch: scratch, aPack: aPack)
    }
}

extension GEMMProblem {
    /// Whether `gemmSolve` gives this shape to the blocked kernel (not the small-n or small-k path).
    var takesBlockedKernel: Bool { n > gemmSmallN && k > gemmSmallK }
}
