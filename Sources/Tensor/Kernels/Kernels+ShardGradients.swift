// Where a dense optimizer pass reads its gradient.
//
// A training step with row shards leaves one dense gradient per shard. The optimizer's pass used
// to add them (and L2) into the model's gradient chunk by chunk, store that, and then read it
// back in the update loop: two loops per chunk, and the summed chunk written back to memory
// although nothing reads it after the step. Now the update loop forms each element's gradient as
// it goes (`ShardGradientSum`): shard 0's value, plus each further shard's in order, plus l2 · w
// where L2 applies. Every element gets the same operations in the same order as the separate
// passes, so the same bits; the pass is one loop instead of two, and the summed gradient is never
// written (Adagrad with two shards: four model-sized streams in, two out, where it was four in and
// three out). On a 2-core Zen 4 (`--timeline` medians) the Taobao model's Adagrad pass at batch 256 went
// from ~680 to ~460 µs on one thread and ~410 to ~270-340 µs on two; Census's Adam pass on two
// threads from ~97 to ~64-70 µs.

/// A dense optimizer row's gradient: 16 elements at a time (`vector`) or one (`scalar`), by index
/// from the row's start. The row kernels are generic over it, so each source gets its own loop.
protocol GradientSource {
    func vector(_ i: Int) -> SIMD16<Float>
    func scalar(_ i: Int) -> Float
}

/// The gradient as one buffer (a summed or single-shard step, an embedding row).
struct GradientBuffer: GradientSource {
    let g: UnsafePointer<Float>

    @inline(__always) func vector(_ i: Int) -> SIMD16<Float> { load16(g + i) }
    @inline(__always) func scalar(_ i: Int) -> Float { g[i] }
}

/// Shards' dense gradients, summed as the optimizer's pass reads them (see the file's note), and
/// L2 · w on the elements `lanes` marks. Build one per step: `parts` are the gradients of shards
/// 1..., added in order to the model's own (shard 0's); the lanes are laid out once per trainer.
public struct ShardGradients {
    let parts: [Tensor]
    let l2: Float
    let values: Tensor
    let lanes: L2Lanes?
    /// Kept weight packs the pass rewrites from each chunk of `values` it has updated.
    let packs: WeightPackRefresh?

    /// `parts`: at least one (a single shard's gradient is read as it is). `lanes` must have been
    /// made for `values`' size; nil (or `l2` = 0) adds no L2. `packs`: a refresh of `values`' kept
    /// GEMM packs (`GEMMPackSharing.refresh(of:)`), to rewrite as the pass writes the values.
    public init(parts: [Tensor], l2: Float, values: Tensor, lanes: L2Lanes?, packs: WeightPackRefresh? = nil) {
        precondition(!parts.isEmpty, "ShardGradients: no further shard to add")
        precondition(parts.allSatisfy { $0.isContiguous && $0.count == values.count } && values.isContiguous,
                     "ShardGradients: the parts and values must be contiguous and of one size (\(values.count))")
        precondition(lanes.map { $0.count == values.count } ?? true, "ShardGradients: the L2 lanes were made for another size")
        self.parts = parts
        self.l2 = l2
        self.values = values
        self.lanes = l2 == 0 ? nil : lanes
        precondition(packs.map { $0.count == values.count && $0.base == UnsafePointer(values.storage.base + values.offset) } ?? true,
                     "ShardGradients: the pack refresh is of another buffer")
        self.packs = packs
    }
}

/// Which elements of a flat parameter buffer L2 applies to, as one 16-bit lane mask per 16
/// elements (bit j of word b: element 16b + j), so the fused pass tests a word per vector.
public struct L2Lanes: Sendable {
    let words: [UInt16]
    public let count: Int

    /// `ranges`: ascending, disjoint, inside 0..<count.
    public init(count: Int, ranges: [Range<Int>]) {
        precondition(ranges.allSatisfy { $0.lowerBound >= 0 && $0.upperBound <= count }, "L2Lanes: a range lies outside 0..<\(count)")
        var words = [UInt16](repeating: 0, count: (count + 15) / 16)
        for r in ranges { for i in r { words[i >> 4] |= 1 << UInt16(i & 15) } }
        self.words = words
        self.count = count
    }
}

/// `ShardGradients` seen from one row of the pass, starting at element `at` (a multiple of 16).
/// Every pointer is the pass's start, so all buffers are indexed alike: `at + i`.
struct ShardGradientSum: GradientSource {
    let g: UnsafePointer<Float>
    let first: UnsafePointer<Float>
    /// Shards 2...'s buffers (usually none).
    let more: UnsafeBufferPointer<UnsafePointer<Float>>
    let w: UnsafePointer<Float>
    let alpha: Float
    let lanes: UnsafePointer<UInt16>?
    let at: Int

    @inline(__always) func vector(_ i: Int) -> SIMD16<Float> {
        let e = at + i
        var v = load16(g + e) + load16(first + e)
        for p in more { v = v + load16(p + e) }
        guard let lanes else { return v }
        let word = lanes[e >> 4]
        if word == 0 { return v }
        let withL2 = v + SIMD16(repeating: alpha) * load16(w + e)
        if word == 0xFFFF { return withL2 }
        let bits = SIMD16<UInt32>(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)
        return v.replacing(with: withL2, where: (SIMD16(repeating: UInt32(word)) & bits) .!= 0)
    }

    @inline(__always) func scalar(_ i: Int) -> Float {
        let e = at + i
        var v = g[e] + first[e]
        for p in more { v = v + p[e] }
        if let lanes, lanes[e >> 4] & (1 << UInt16(e & 15)) != 0 { v = v + alpha * w[e] }
        return v
    }
}

/// A dense optimizer's update of one chunk, generic in where the gradient comes from.
protocol DenseOptimizerRow {
    /// Updates elements lo..<lo + count of the pass; `gradient` is indexed from `lo`.
    func update<G: GradientSource>(_ lo: Int, _ count: Int, _ gradient: G)
}

extension Kernels {
    /// Runs `row` over the chunks of a dense optimizer pass over `grads` (`optimizerChunks`),
    /// with each chunk's gradient read from `grads` or, given `shards`, summed from `grads` and
    /// the shards' as the row reads it (and then, when `shards` carries a pack refresh, the
    /// chunk's new values written into the kept weight packs).
    @inline(__always)
    static func denseChunks<R: DenseOptimizerRow>(_ grads: Tensor, shards: ShardGradients?, _ row: R) {
        let n = grads.count
        let g = UnsafePointer(grads.storage.base + grads.offset)
        guard let shards else {
            optimizerChunks(n) { lo, len in row.update(lo, len, GradientBuffer(g: g + lo)) }
            return
        }
        precondition(shards.values.count == n, "optimizer pass: \(shards.values.count) shard values for \(n) gradients")
        let w = UnsafePointer(shards.values.storage.base + shards.values.offset)
        let first = UnsafePointer(shards.parts[0].storage.base + shards.parts[0].offset)
        let more = shards.parts.dropFirst().map { UnsafePointer($0.storage.base + $0.offset) }
        withExtendedLifetime(shards) {
            more.withUnsafeBufferPointer { more in
                (shards.lanes?.words ?? []).withUnsafeBufferPointer { words in
                    let lanes = shards.lanes == nil ? nil : words.baseAddress
                    let chunks = OptimizerChunks(n)
                    chunks.run { lo, len, runStart in
                        row.update(lo, len, ShardGradientSum(g: g, first: first, more: more, w: w, alpha: shards.l2,
                                                             lanes: lanes, at: lo))
                        // The chunk's new values are in L1/L2 now: the cheapest moment to pack them.
                        shards.packs?.refresh(lo, len, runStart: runStart)
                    }
                    shards.packs?.refreshAcross(chunks.runStarts)
                }
            }
        }
    }
}
