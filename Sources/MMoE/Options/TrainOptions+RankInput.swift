/// How the ranks of `mpirun -np N mmoe-train` read a streamed training input (`--rank_input`; see
/// Distributed.md and `InputShare`). In-memory inputs (Census, small `--schema` files, the
/// synthetic data) are read whole by every rank either way.
public enum RankInput: String, Sendable, CaseIterable {
    /// Each rank reads and parses only its share of the pieces (slices, row groups); the parsed
    /// rows are exchanged, so every rank cuts the same batches as one process.
    case share
    /// Every rank reads and parses the whole input.
    case whole
}
