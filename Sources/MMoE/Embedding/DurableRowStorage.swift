/// A `RowStorage` whose records survive the process: changes become durable at `commit`, and
/// reopening the same place gives back exactly the last committed state.
///
/// What a successful `commit(arrays:)` guarantees: every `write` and `remove` made before it, and
/// the `arrays` passed to it, are on stable storage (fsynced, with the directory entries that name
/// them), and are what a later open sees, whatever happens afterwards: a kill -9, a power cut
/// during the next commit, a half-written temporary file. A commit is all or nothing: an open
/// after a crash sees the previous commit or this one, never part of one. Changes made after the
/// last commit are lost by a crash, and also by simply dropping the object (there is no implicit
/// commit on deinit: a store discarded mid-step must not persist a half-applied step).
///
/// Each commit writes only the records changed since the previous one, so calling it every N
/// seconds is DeepRec's `--incremental_ckpt N`.
public protocol DurableRowStorage: RowStorage {
    /// Makes all changes so far, and `arrays` (named UInt64 arrays kept with the records, e.g. an
    /// admission filter's counters), durable as one atomic step. After a failure the store
    /// refuses further use; reopen it to get the last commit back.
    func commit(arrays: [String: [UInt64]]) throws(RowStorageError)

    /// Phase one of a commit that something else decides (a checkpoint across ranks, whose model
    /// file is the decision): the changes and `arrays` are written and fsynced as a *prepared*
    /// commit, which is not yet the store's state. `finishPrepared` makes it the last commit
    /// (`commit` is the two at once). Until then the store takes no other use. A store reopened
    /// with a prepared commit still there asks its opener (the `finishing` argument of its
    /// initialiser) whether that commit's decision was made: if so it is applied, otherwise dropped
    /// and the store is at its last commit. So N stores and a checkpoint commit all or nothing.
    func prepare(arrays: [String: [UInt64]]) throws(RowStorageError)

    /// Phase two: the prepared commit becomes the last commit (`generation` rises by one).
    func finishPrepared() throws(RowStorageError)

    /// The arrays passed to the last commit (as found when the store was opened, then as
    /// committed since); empty before the first commit.
    var committedArrays: [String: [UInt64]] { get }

    /// Commits made to this store over its whole life (0 for a new one); it rises by one per
    /// `commit`, so a run can tell how far a store it reopened had got.
    var generation: UInt64 { get }

    /// Records (written or removed) that the last commit wrote: the size of the increment (for a
    /// journal's full save, every record).
    var lastCommitRecords: Int { get }
}

extension DurableRowStorage {
    /// Commits the records, keeping the arrays committed last time.
    public func commit() throws(RowStorageError) { try commit(arrays: committedArrays) }
}
