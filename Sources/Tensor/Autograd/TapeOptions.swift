/// How a tape executes the ops recorded on it: DeepRec's `--op_fusion` and `--bf16` switches.
/// The defaults are what the tape always did (fused dense layers, Float GEMM inputs), bit for bit.
public struct TapeOptions: Sendable, Equatable {
    /// Dense layers run bias and activation inside the GEMM epilogue (true) or as separate recorded
    /// ops (false): `linear` then records `matmul`, `bias_add` and `relu`, three nodes and three
    /// kernels, as an unfused framework would. Values are the same either way (the epilogue does
    /// the same Float additions); only time and memory differ.
    public var fuseEpilogues = true
    /// Round GEMM inputs (both operands, forward and backward products of dense layers/matmuls) to
    /// bfloat16 (round-to-nearest-even) while packing; accumulate in Float. Elementwise ops, biases,
    /// gradients as stored and parameters stay Float: mixed precision as bf16 matmul units compute it.
    public var bfloat16 = false

    public init(fuseEpilogues: Bool = true, bfloat16: Bool = false) {
        self.fuseEpilogues = fuseEpilogues
        self.bfloat16 = bfloat16
    }
}
