extension Kernels {
    /// dst += src, then src = 0, over two contiguous buffers of one size, in 16k-element chunks
    /// spread over the threads (as the dense optimizers are): the shard-gradient sum of a step,
    /// one pass instead of an add and a fill. Each element's arithmetic is the same whatever the
    /// split, so the result does not depend on the thread count.
    public static func addAndZero(_ dst: Tensor, _ src: Tensor) {
        let n = dst.count
        checkDense("addAndZero", n, dst, src)
        let pd = dst.storage.base + dst.offset, ps = src.storage.base + src.offset
        optimizerChunks(n) { lo, len in
            let d = pd + lo, s = ps + lo
            var i = 0
            while i + 16 <= len {
                store16(load16(d + i) + load16(s + i), d + i)
                store16(SIMD16<Float>(), s + i)
                i += 16
            }
            while i < len { d[i] += s[i]; s[i] = 0; i += 1 }
        }
    }

    /// out = the sum of the `parts` runs of `source` (each `out.count` long, starting at the given
    /// places), added in the order given: the first copied, each further one added elementwise,
    /// so the bits are those of adding them one after another with `addAndZero`. A distributed
    /// step's sum of the shard gradients one rank received (`Trainer+Distributed.swift`).
    public static func sumInOrder(_ source: [Float], parts starts: [Int], into out: Tensor) {
        let n = out.count
        precondition(out.isContiguous && !starts.isEmpty && starts.allSatisfy { $0 >= 0 && $0 + n <= source.count },
                     "sumInOrder: \(starts.count) parts of \(n) do not lie inside \(source.count) values, or the output is not contiguous")
        let po = out.storage.base + out.offset
        source.withUnsafeBufferPointer { src in
            let base = src.baseAddress!
            po.update(from: base + starts[0], count: n)
            for start in starts.dropFirst() {
                let s = base + start
                var i = 0
                while i + 16 <= n {
                    store16(load16(po + i) + load16(s + i), po + i)
                    i += 16
                }
                while i < n { po[i] += s[i]; i += 1 }
            }
        }
    }

    /// y[r] += alpha · x[r] for every range `r` of two contiguous buffers of one size (L2
    /// regularisation over the weights among a model's flat parameters), the ranges cut into
    /// 16k-element pieces spread over the threads once there are at least 64k elements in all.
    public static func axpy(_ alpha: Float, _ x: Tensor, into y: Tensor, ranges: [Range<Int>]) {
        checkDense("axpy(ranges:)", x.count, x, y)
        precondition(ranges.allSatisfy { $0.lowerBound >= 0 && $0.upperBound <= x.count }, "axpy(ranges:): a range lies outside 0..<\(x.count)")
        let chunk = 16_384
        var pieces: [Range<Int>] = []
        for r in ranges {
            var lo = r.lowerBound
            while lo < r.upperBound { pieces.append(lo..<min(lo + chunk, r.upperBound)); lo += chunk }
        }
        let total = ranges.reduce(0) { $0 + $1.count }
        let px = UnsafePointer(x.storage.base + x.offset), py = y.storage.base + y.offset
        let a = SIMD16<Float>(repeating: alpha)
        Parallel.forEach(pieces.count, threads: total >= 4 * chunk ? Parallel.threads : 1) { p in
            let lo = pieces[p].lowerBound, n = pieces[p].count
            let xs = px + lo, ys = py + lo
            var i = 0
            while i + 16 <= n { store16(load16(ys + i) + a * load16(xs + i), ys + i); i += 16 }
            while i < n { ys[i] += alpha * xs[i]; i += 1 }
        }
    }

    /// Sets a contiguous buffer to zero, in 16k-element chunks spread over the threads.
    public static func zero(_ t: Tensor) {
        precondition(t.isContiguous, "zero: the tensor must be contiguous, got shape \(t.shape) strides \(t.strides)")
        let p = t.storage.base + t.offset
        optimizerChunks(t.count) { lo, len in (p + lo).update(repeating: 0, count: len) }
    }
}
