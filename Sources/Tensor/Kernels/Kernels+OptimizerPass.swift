extension Kernels {
    /// Runs `body(lo, count)` over 16k-element chunks of a dense optimizer pass over `n` elements,
    /// on every thread once there are at least four chunks (as `adamUpdate` does). Chunks are
    /// disjoint and each element's arithmetic is the same whatever the split.
    @inline(__always)
    static func optimizerChunks(_ n: Int, _ body: (_ lo: Int, _ count: Int) -> Void) {
        let chunk = 16_384
        let chunks = (n + chunk - 1) / chunk
        Parallel.forEach(chunks, threads: n >= 4 * chunk ? Parallel.threads : 1) { c in
            let lo = c * chunk
            body(lo, min(chunk, n - lo))
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
