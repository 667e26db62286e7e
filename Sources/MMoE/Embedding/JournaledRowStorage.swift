import Foundation

/// Makes an in-memory `RowStorage` durable with incremental saves: OneFlow's `cached_host_mem`
/// (the table in RAM, persisted under `--persistent_path`) with DeepRec's `--incremental_ckpt`.
///
/// The directory holds `base.rows`, a full `RowSnapshot`, and `delta-<generation>.rows`, one
/// snapshot per later commit holding only the records written since the commit before it (and,
/// as the array `__removed`, the keys removed). Every file is written atomically, first as
/// `prepared-<generation>.<its name>` (phase one, `prepare`); a commit is durable once that file
/// is renamed to its own name (phase two, `finishPrepared`). Opening applies or drops a prepared
/// file left over, as the opener decides (`finishing`). Every `compactEvery` commits the base is
/// rewritten whole and the deltas deleted (a crash in between leaves stale deltas, which the next
/// open recognises by their generation and deletes). Opening loads the base and replays the
/// deltas in order; a missing or damaged one is an error naming the file, not a silent gap.
///
/// Tracking the changed keys costs a hash set entry per key changed since the last commit.
public final class JournaledRowStorage: DurableRowStorage {
    /// The wrapped storage: reads and writes go straight to it.
    public let storage: any RowStorage
    public let directory: String
    public let compactEvery: Int
    public private(set) var generation: UInt64 = 0
    public private(set) var committedArrays: [String: [UInt64]] = [:]
    /// Records (written or removed) that the last commit wrote, and whether it was a full save.
    public private(set) var lastCommitRecords = 0
    public private(set) var lastCommitWasFull = false

    private var changed = Set<UInt64>()
    private var removed = Set<UInt64>()
    /// A commit prepared and not yet finished: its file (written as `prepared-<generation>.<name>`),
    /// whether it is a full save, the records it wrote and its arrays.
    private var prepared: (name: String, full: Bool, records: Int, arrays: [String: [UInt64]])?
    /// Deltas written since the base.
    private var deltas = 0
    static let baseFile = "base.rows"
    static let generationArray = "__generation"
    static let removedArray = "__removed"

    /// Loads the last commit found in `directory` (creating the directory if absent) into
    /// `storage`, which must be empty, and wraps it. `compactEvery`: commits between full saves.
    /// `finishing`: whether a prepared commit of the given generation, found unfinished, is to be
    /// applied (its checkpoint completed); otherwise it is dropped (`DurableRowStorage.prepare`).
    public init(directory: String, storage: any RowStorage, compactEvery: Int = 16,
                finishing: (UInt64) -> Bool = { _ in false }) throws(RowStorageError) {
        guard compactEvery > 0 else { throw RowStorageError("\(directory): compactEvery must be positive, got \(compactEvery)") }
        guard storage.count == 0 else { throw RowStorageError("\(directory): the storage to load into must be empty (it holds \(storage.count) records)") }
        self.storage = storage
        self.directory = directory
        self.compactEvery = compactEvery
        try RowFile.makeDirectory(directory)
        try resolvePrepared(finishing)
        try load()
    }

    public var width: Int { storage.width }
    public var count: Int { storage.count }
    public var hits: Int { storage.hits }
    public var misses: Int { storage.misses }
    /// The storage's bytes plus the changed-key sets.
    public var residentBytes: Int {
        storage.residentBytes + FileRowStorage.hashTableBytes(changed.capacity, entry: 8) + FileRowStorage.hashTableBytes(removed.capacity, entry: 8)
    }

    public func read(_ keys: [UInt64], into records: inout [Float], found: inout [Bool]) throws(RowStorageError) {
        try storage.read(keys, into: &records, found: &found)
    }

    public func write(_ keys: [UInt64], _ records: [Float]) throws(RowStorageError) {
        try checkNotPrepared()
        try storage.write(keys, records)
        for k in keys {
            changed.insert(k)
            if !removed.isEmpty { removed.remove(k) }
        }
    }

    public func remove(_ keys: [UInt64]) throws(RowStorageError) {
        try checkNotPrepared()
        try storage.remove(keys)
        for k in keys {
            changed.remove(k)
            removed.insert(k)
        }
    }

    public func scan(chunk: Int, _ body: (_ keys: [UInt64], _ records: [Float]) throws -> Void) throws {
        try storage.scan(chunk: chunk, body)
    }

    /// Writes the changes since the last commit as `delta-<generation>.rows`, or every
    /// `compactEvery` commits the whole table as `base.rows`. Array names starting with `__` are
    /// reserved.
    public func commit(arrays: [String: [UInt64]]) throws(RowStorageError) {
        try prepare(arrays: arrays)
        try finishPrepared()
    }

    /// Phase one (see `DurableRowStorage.prepare`): the delta or full save written (atomically)
    /// as `prepared-<generation>.<its name>`.
    public func prepare(arrays: [String: [UInt64]]) throws(RowStorageError) {
        if let bad = arrays.keys.first(where: { $0.hasPrefix("__") }) {
            throw RowStorageError("\(directory): array name '\(bad)' is reserved (names starting with __)")
        }
        try checkNotPrepared()
        let next = generation + 1
        var stored = arrays
        stored[Self.generationArray] = [next]
        let full = deltas + 1 >= compactEvery || generation == 0
        let name = full ? Self.baseFile : Self.deltaFile(next)
        if full {
            try RowSnapshot.save(storage, arrays: stored, to: path(Self.preparedFile(next, name)))
            prepared = (name, true, storage.count, arrays)
        } else {
            let keys = changed.sorted()
            var records = [Float](repeating: 0, count: keys.count * width)
            var found = [Bool](repeating: false, count: keys.count)
            try storage.read(keys, into: &records, found: &found)
            let delta = MemoryRowStorage(width: width)
            try delta.write(keys, records)
            stored[Self.removedArray] = removed.sorted()
            try RowSnapshot.save(delta, arrays: stored, to: path(Self.preparedFile(next, name)))
            prepared = (name, false, keys.count + removed.count, arrays)
        }
    }

    /// Phase two: the prepared file renamed to its own name (the commit point); after a full
    /// save, the deltas it folded in are deleted.
    public func finishPrepared() throws(RowStorageError) {
        guard let p = prepared else { throw RowStorageError("\(directory): no prepared commit to finish") }
        let next = generation + 1
        try RowFile.renameDurably(path(Self.preparedFile(next, p.name)), to: path(p.name))
        prepared = nil
        if p.full {
            for n in try deltaGenerations() { try RowFile.remove(path(Self.deltaFile(n))) }
            deltas = 0
        } else {
            deltas += 1
        }
        lastCommitRecords = p.records
        lastCommitWasFull = p.full
        changed = []
        removed = []
        generation = next
        committedArrays = p.arrays
    }

    private func checkNotPrepared() throws(RowStorageError) {
        if prepared != nil { throw RowStorageError("\(directory): a prepared commit is not finished yet; the store takes no other use until it is") }
    }

    static func preparedFile(_ generation: UInt64, _ name: String) -> String { "prepared-\(generation).\(name)" }

    /// A prepared commit left by a process that stopped before finishing it: renamed into place
    /// when `finishing` says its checkpoint completed (the normal open then loads it), else deleted.
    private func resolvePrepared(_ finishing: (UInt64) -> Bool) throws(RowStorageError) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix("prepared-") && !name.hasSuffix(".partial") {
            let parts = name.dropFirst("prepared-".count).split(separator: ".", maxSplits: 1)
            guard parts.count == 2, let g = UInt64(parts[0]), parts[1] == Self.baseFile || parts[1] == Self.deltaFile(g) else {
                throw RowStorageError("\(path(name)): not a prepared commit this store writes")
            }
            if finishing(g) {
                try RowFile.renameDurably(path(name), to: path(String(parts[1])))
            } else {
                try RowFile.remove(path(name))
            }
        }
    }

    static func deltaFile(_ generation: UInt64) -> String { "delta-\(generation).rows" }
    private func path(_ name: String) -> String { directory + "/" + name }

    private func deltaGenerations() throws(RowStorageError) -> [UInt64] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw RowStorageError("\(directory): cannot list the directory")
        }
        return names.compactMap { name -> UInt64? in
            guard name.hasPrefix("delta-"), name.hasSuffix(".rows") else { return nil }
            return UInt64(name.dropFirst(6).dropLast(5))
        }.sorted()
    }

    private func load() throws(RowStorageError) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasSuffix(".partial") {
            try RowFile.remove(path(name))
        }
        let base = path(Self.baseFile)
        var present = try deltaGenerations()
        guard RowFile.exists(base) else {
            if let first = present.first { throw RowStorageError("\(path(Self.deltaFile(first))): an incremental save without its base \(base)") }
            return
        }
        var arrays = try RowSnapshot.load(into: storage, from: base)
        generation = try Self.takeGeneration(&arrays, file: base)
        committedArrays = arrays
        // Deltas at or below the base's generation were folded into it by a compaction that
        // crashed before deleting them.
        for n in present where n <= generation { try RowFile.remove(path(Self.deltaFile(n))) }
        present.removeAll { $0 <= generation }
        for n in present {
            let file = path(Self.deltaFile(n))
            guard n == generation + 1 else {
                throw RowStorageError("\(path(Self.deltaFile(generation + 1))): missing, but \(file) follows it")
            }
            let delta = MemoryRowStorage(width: width)
            var deltaArrays = try RowSnapshot.load(into: delta, from: file)
            guard try Self.takeGeneration(&deltaArrays, file: file) == n else { throw RowStorageError("\(file): holds another generation than its name") }
            do {
                try delta.scan(chunk: 4096) { keys, records in try storage.write(keys, records) }
            } catch let error as RowStorageError {
                throw error
            } catch {
                throw RowStorageError("\(file): replaying it failed: \(error)")
            }
            try storage.remove(deltaArrays.removeValue(forKey: Self.removedArray) ?? [])
            generation = n
            committedArrays = deltaArrays
            deltas += 1
        }
    }

    private static func takeGeneration(_ arrays: inout [String: [UInt64]], file: String) throws(RowStorageError) -> UInt64 {
        guard let g = arrays.removeValue(forKey: generationArray), g.count == 1 else {
            throw RowStorageError("\(file): not a journaled row store file (no \(generationArray))")
        }
        return g[0]
    }
}
