// A shared op(A) packed once per batch. The experts of a layer all read the same input: the
// first layer's forward is X · W_e and its weight gradient Xᵀ · dZ_e for every expert e, one
// batched GEMM with A's stride 0. The blocked GEMM packs its A block by block before it
// multiplies, so each expert used to pack X again; for a 128-row shard that packing (a transpose
// for X · W) costs a few percent of the layer. When consecutive problems on one thread read the
// same op(A), the first packs all of it into the thread's memo and the following ones read the
// memo. Packing only moves values, so the result is the same bits either way.

/// Floats of packed op(A) a thread keeps for the next problem (4 MiB): a 2048-row evaluation
/// shard over DeepRec's 475 inputs fits; larger operands are packed per problem as before.
let gemmSharedAMaxFloats = 1 << 20

/// How a blocked problem treats its packed op(A).
enum GEMMAPackReuse {
    /// Pack A block by block into the scratch, as usual.
    case none
    /// Pack all of op(A) into the thread's memo (the next problem reads the same A).
    case keep
    /// op(A) is already in the memo, packed by the previous problem on this thread.
    case reuse
}

extension GEMMProblem {
    /// Whether `next` reads the same op(A) as `self` and both take the blocked kernel, so `next`
    /// can read the pack `self` leaves in the memo.
    func sharesPackedA(with next: GEMMProblem) -> Bool {
        m > 0 && k > 0 && a == next.a && lda == next.lda && transA == next.transA && m == next.m && k == next.k
            && roundToBFloat16 == next.roundToBFloat16 && takesBlockedKernel && next.takesBlockedKernel
            && GEMMProblem.packedAFloats(m: m, k: k) <= gemmSharedAMaxFloats
    }

    /// Floats of op(A) packed whole: every k-block holds all row panels, `kcBlock` deep.
    static func packedAFloats(m: Int, k: Int) -> Int {
        let kc = gemmKC(k), blocks = (k + kc - 1) / kc
        return (m + gemmMR - 1) / gemmMR * gemmMR * kc * blocks
    }

    /// Where rows `ic...` of k-block `pc` start in a whole packed op(A): k-blocks one after the
    /// other, each `roundUp(m, MR) x kcBlock`, its rows in panels of MR as `packA` writes them.
    static func packedAOffset(m: Int, k: Int, pc: Int, ic: Int, kc: Int) -> Int {
        let kcBlock = gemmKC(k)
        return pc / kcBlock * ((m + gemmMR - 1) / gemmMR * gemmMR) * kcBlock + ic * kc
    }
}

/// Solves `tasks[first]`, `tasks[first + stride]`, ... in order on the calling thread; a problem
/// reading the same op(A) as the one before it reads that one's pack.
func gemmSolveInOrder(_ tasks: [GEMMProblem], first: Int = 0, stride: Int = 1, scratch: GEMMScratch) {
    var i = first, memoHolds = false
    while i < tasks.count {
        let t = tasks[i], next = i + stride < tasks.count ? i + stride : nil
        let keepsForNext = next.map { t.sharesPackedA(with: tasks[$0]) } ?? false
        gemmSolve(t, scratch: scratch, aPack: memoHolds ? .reuse : keepsForNext ? .keep : .none)
        memoHolds = keepsForNext
        i += stride
    }
}
