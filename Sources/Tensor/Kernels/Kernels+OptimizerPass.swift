extension Kernels {
    /// Runs `body(lo, count)` over chunks of at most 16k elements of a dense optimizer pass over
    /// `n` elements, on every thread once there are at least 64k elements.
    /// Chunks are disjoint and start at multiples of 16, and each element's arithmetic is the same
    /// whatever the split.
    /// NOTE: the chunk count is a multiple of the thread count, so each thread gets the same
    /// share: with fixed 16k chunks the Census model's 198k weights were 13 chunks, 7 on one
    /// thread and 6 on the other, and the pass took as long as the 7.
    @inline(__always)
    static func optimizerChunks(_ n: Int, _ body: (_ lo: Int, _ count: Int) -> Void) {
        OptimizerChunks(n).run { lo, count, _ in body(lo, count) }
    }

    /// Runs `body(row, grad)` for each row of `table` that has a gradient (`grad`: its `D` values),
    /// in blocks of ~8k elements over the worker pool (a single block stays on the calling thread). Each
    /// touched row is updated on its own (rows are distinct), so the split never changes a value.
    /// NOTE: on one thread this was ~1.6% of a two-thread DeepRec step on Taobao (about 4,000
    /// touched rows of 16), with the second core idle.
    @inline(__always)
    static func forEachTouchedRow(_ table: EmbeddingTable, _ body: (_ row: Int, _ grad: UnsafePointer<Float>) -> Void) {
        let d = table.dim, count = table.touchedRows.count
        let perBlock = max(1, 8_192 / max(d, 1)), blocks = (count + perBlock - 1) / perBlock
        table.gradValues.withUnsafeBufferPointer { g in
            table.touchedRows.withUnsafeBufferPointer { rows in
                Parallel.forEach(blocks) { block in
                    for slot in (block * perBlock)..<min(count, (block + 1) * perBlock) {
                        body(Int(rows[slot]), g.baseAddress! + slot * d)
                    }
                }
            }
        }
    }

    /// Checks that an optimizer's dense buffers are contiguous and all `n` long.
    @inline(__always)
    static func checkDense(_ kernel: String, _ n: Int, _ tensors: Tensor...) {
        precondition(tensors.allSatisfy { $0.isContiguous && $0.count == n },
                     "\(kernel): values, gradients and state must be contiguous and of one size (\(n))")
    }

    /// Checks that a `[V, D]` optimizer state tensor is contiguous and aligned with `table`.
    @inline(__always)
    static func checkRows(_ kernel: String, _ table: EmbeddingTable, _ state: Tensor...) {
        precondition(state.allSatisfy { $0.isContiguous && $0.count == table.rows * table.dim },
                     "\(kernel)(\(table.name)): state must be contiguous [\(table.rows), \(table.dim)]")
    }
}

/// How a dense optimizer pass over `n` elements is cut (see `Kernels.optimizerChunks`): chunks of
/// at most 16k elements, as many per thread, each thread taking one contiguous run of them in
/// order, so a chunk's body may also use the elements of the run's earlier chunks (the kept-pack
/// refresh does: `WeightPackRefresh`).
struct OptimizerChunks {
    let n: Int, chunk: Int, chunks: Int, threads: Int

    init(_ n: Int) {
        let maxChunk = 16_384
        let threads = n >= 4 * maxChunk ? Parallel.threads : 1
        let parts = max(1, ((n + maxChunk - 1) / maxChunk + threads - 1) / threads * threads)
        self.n = n
        chunk = max(16, ((n + parts - 1) / parts + 15) & ~15)
        chunks = (n + chunk - 1) / chunk
        self.threads = min(threads, chunks)
    }

    /// The first element of each thread's run, in order (the first is 0).
    var runStarts: [Int] { (0..<threads).map { min(n, $0 * chunks / threads * chunk) } }

    /// `body(lo, count, runStart)` for every chunk, each thread over its run in order.
    @inline(__always)
    func run(_ body: (_ lo: Int, _ count: Int, _ runStart: Int) -> Void) {
        let chunk = chunk, chunks = chunks, threads = threads, n = n
        Parallel.forEach(threads, threads: threads) { t in
            let first = t * chunks / threads, end = (t + 1) * chunks / threads
            for c in first..<end {
                let lo = c * chunk
                body(lo, min(chunk, n - lo), first * chunk)
            }
        }
    }
}
