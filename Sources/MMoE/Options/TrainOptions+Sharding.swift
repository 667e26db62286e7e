/// How an embedding store is laid out across the ranks of `mpirun -np N mmoe-train`
/// (`--embedding_sharding`; see Distributed.md and `ShardedEmbedding`).
public enum EmbeddingSharding: String, Sendable, CaseIterable {
    /// Every rank holds the whole table and pulls its rows itself; the gradient rows go to every rank.
    case replicated
    /// Rank `hash(key) % N` holds a key's row and optimizer state (OneEmbedding's design): keys,
    /// rows and gradient rows travel to and from their owners, so the table is spread over the ranks.
    case key
}
