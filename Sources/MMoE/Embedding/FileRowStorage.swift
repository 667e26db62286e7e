/// OneFlow's `cached_ssd`: the whole table lives in files under a directory (`--persistent_path`),
/// and only a cache of hot records, bounded by a byte budget (`--cache_memory_budget_mb`), lives
/// in memory. A table many times larger than the budget works; lookups of cached records cost a
/// hash probe, the others one `pread`.
///
/// **Keys.** `.dense(capacity:)`: keys are row numbers below `capacity` (a fixed hashed table), a
/// record lives in slot `key`, and the only memory besides the cache is one presence bit per slot.
/// `.sparse`: any 64-bit key (an EV table); an in-memory index maps key to slot, a hash table of
/// 12-byte entries at most 3/4 full: 16 to 33 bytes per record *on top of the budget* (a 10M-key
/// table: 160-330 MB of index). `residentBytes` counts both; `cacheBytes` and `indexBytes` split
/// them. Changes evicted since the last commit cost a few bytes each more (`pendingBytes`).
///
/// **Cache.** Write-back with CLOCK replacement (one "referenced" bit per cached record, a hand
/// sweeping the frames): almost LRU's hit rate on skewed id streams, without LRU's list update
/// on every hit. A write needs no read: records are replaced whole.
///
/// **Crash safety** (see `DurableRowStorage` for the contract). `rows.dat` only ever holds the
/// last commit. Between commits, a changed record that falls out of the cache goes to a scratch
/// file (`spill.tmp`), which reads consult before `rows.dat`. `commit` writes every record changed
/// since the last commit (and the named arrays) to `commit.wal.partial` with a CRC-32C, fsyncs it
/// and renames it to `commit.wal.prepared` (phase one, `prepare`), then renames that to `commit.wal`
/// and fsyncs the directory (phase two, `finishPrepared`): that rename is the commit point. Only
/// then is the log copied into `rows.dat` (slot images are idempotent, so a repeat is harmless), the
/// header updated, `rows.dat` fsynced and the log deleted. Opening first deletes scratch and
/// `.partial` files, replays a `commit.wal` if one is there (a crash after the commit point),
/// applies or drops a `commit.wal.prepared` as the opener decides (`finishing`), and then verifies
/// every slot's checksum. A damaged log or data file is reported with its name,
/// never read as rows. Write-ahead logging was chosen over copy-on-write of the whole file because
/// a commit costs the changed records only (twice), not the table.
///
/// Single-threaded: the embedding store calls it from one thread at a time. One process at a
/// time: the data file is locked while open.
public final class FileRowStorage: DurableRowStorage {
    /// How keys map to slots of `rows.dat`.
    public enum Keys: Equatable, Sendable {
        /// Keys are row numbers `0 ..< capacity`, stored in slot `key`: no index memory.
        case dense(capacity: Int)
        /// Any UInt64 key, through an in-memory key -> slot index.
        case sparse
    }

    public let width: Int
    public let keys: Keys
    public let directory: String
    public let cacheBudgetBytes: Int
    public private(set) var count: Int
    public private(set) var hits = 0
    public private(set) var misses = 0
    public internal(set) var generation: UInt64
    public internal(set) var committedArrays: [String: [UInt64]]
    var arraysGeneration: UInt64
    /// Records the cache can hold.
    public let cacheCapacity: Int
    /// Records (written or emptied) that the last `commit` wrote: the size of the increment.
    public internal(set) var lastCommitRecords = 0

    let data: RowFile
    let spill: RowFile
    let slotWords: Int
    let entryWords: Int
    /// 0 for sparse keys.
    let denseCapacity: Int
    /// Slots in use or once used (sparse tables grow; dense ones have `denseCapacity`).
    var slotCount: Int
    /// Slots in `rows.dat` as of the last commit.
    var committedSlotCount: Int

    /// Dense keys: bit `slot` set when the slot holds a record.
    var present: [UInt64] = []
    /// Sparse keys: key -> slot, and the slots below `slotCount` that hold nothing.
    var index: [UInt64: UInt32] = [:]
    var freeSlots: [UInt32] = []

    // The cache: frame f holds `frameValues[f*width ..< (f+1)*width]` of slot `frameSlot[f]`.
    var frameValues: [Float] = []
    var frameSlot: [UInt32] = []
    var frameKey: [UInt64] = []
    var frameFlags: [UInt8] = []
    var frameOf: [UInt32: Int32] = [:]
    var freeFrames: [Int32] = []
    var reservedFrames = 0
    var hand = 0
    static let referenced: UInt8 = 1
    /// The frame is newer than the slot's copy in `spill.tmp` (or, when not spilled, `rows.dat`).
    static let dirty: UInt8 = 2

    // Changes since the last commit that are not in the cache.
    /// Slot -> entry number in `spill.tmp`.
    var spillIndex: [UInt32: UInt32] = [:]
    var spillEntries = 0
    /// Entries `spillWritten ..< spillEntries`, not yet in the file: evictions of one call go out
    /// in one pwrite at its end (or every 256 KiB) instead of one each.
    var spillPending: [UInt32] = []
    var spillWritten = 0
    static let spillPendingWords = 1 << 16
    /// Slots emptied since the last commit (their `rows.dat` image may still be occupied).
    var removedSlots: Set<UInt32> = []

    /// One log/spill entry's words.
    var scratch: [UInt32]
    /// Set when an I/O error or damage left memory out of step with the files.
    var broken: RowStorageError?
    /// A commit prepared and not yet finished (`prepare`): the log's header, arrays and entries.
    var prepared: PreparedLog?
    struct PreparedLog {
        let header: RowFileFormat.Header
        let arrays: [String: [UInt64]]
        let entries: Int
    }
    /// Tests only: where `commit` stops, as if the process were killed there.
    var simulatedCrash: CommitStage?
    /// The store's directory, held while the store is open.
    let lock: DirectoryLock

    /// Opens the store in `directory`, creating it (and the directory) if absent. An existing
    /// store must have been made with the same `width` and `keys`. A commit interrupted after its
    /// commit point is completed; everything is verified before this returns.
    ///
    /// `cacheBudgetBytes` bounds the cache: records plus their bookkeeping (about
    /// `4 * width + 40` bytes each); it must hold at least one record.
    /// `lock`: the directory's `DirectoryLock` when the caller already holds it; otherwise the
    /// store takes it itself, before anything in the directory is touched (scratch files included,
    /// which belong to the owner while another process holds the store).
    /// `finishing`: whether a prepared commit of the given generation, found unfinished, is to be
    /// applied (its checkpoint completed); otherwise it is dropped (`DurableRowStorage.prepare`).
    public init(directory: String, width: Int, keys: Keys, cacheBudgetBytes: Int, lock: DirectoryLock? = nil,
                finishing: (UInt64) -> Bool = { _ in false }) throws(RowStorageError) {
        guard width > 0 else { throw RowStorageError("\(directory): record width must be positive, got \(width)") }
        var capacity = 0
        if case .dense(let c) = keys {
            guard c > 0, c <= Int(UInt32.max) else { throw RowStorageError("\(directory): dense capacity must be in 1...\(UInt32.max), got \(c)") }
            capacity = c
        }
        let perFrame = FileRowStorage.frameBytes(width: width)
        guard cacheBudgetBytes >= perFrame else {
            throw RowStorageError("\(directory): a cache budget of \(cacheBudgetBytes) bytes holds no record (one takes \(perFrame) bytes at width \(width))")
        }
        self.width = width
        self.keys = keys
        self.directory = directory
        self.cacheBudgetBytes = cacheBudgetBytes
        self.cacheCapacity = cacheBudgetBytes / perFrame
        self.denseCapacity = capacity
        self.slotWords = RowFileFormat.slotWords(width: width)
        self.entryWords = RowFileFormat.entryWords(width: width)
        self.scratch = [UInt32](repeating: 0, count: RowFileFormat.entryWords(width: width))

        if let lock {
            self.lock = lock
        } else {
            try RowFile.makeDirectory(directory)
            do { self.lock = try DirectoryLock(directory: directory) } catch { throw RowStorageError(error.description) }
        }
        let (data, header, arrays) = try FileRowStorage.openFiles(directory: directory, width: width, denseCapacity: capacity, finishing: finishing)
        self.data = data
        self.spill = try RowFile(FileRowStorage.path(directory, RowFileFormat.spillFile), .create)
        self.count = header.count
        self.slotCount = header.slotCount
        self.committedSlotCount = header.slotCount
        self.generation = header.generation
        self.committedArrays = arrays
        self.arraysGeneration = header.arraysGeneration
        try rebuildIndex(expecting: header.count)
    }

    deinit { try? RowFile.remove(FileRowStorage.path(directory, RowFileFormat.spillFile)) }

    /// Bytes one cached record costs against the budget: its Floats, its slot, key and flags, and
    /// its share of the slot -> frame hash table.
    public static func frameBytes(width: Int) -> Int { 4 * width + 40 }
    static func path(_ directory: String, _ name: String) -> String { directory + "/" + name }

    // MARK: - RowStorage

    public func read(_ keys: [UInt64], into records: inout [Float], found: inout [Bool]) throws(RowStorageError) {
        precondition(records.count >= keys.count * width && found.count >= keys.count, "FileRowStorage.read: buffers too small")
        try checkUsable()
        let w = width
        do throws(RowStorageError) {
            for (i, key) in keys.enumerated() {
                guard let slot = existingSlot(key) else { misses += 1; continue }
                let f: Int
                if let cached = frameOf[slot] {
                    hits += 1
                    f = Int(cached)
                    frameFlags[f] |= FileRowStorage.referenced
                } else {
                    misses += 1
                    f = try takeFrame()
                    try load(slot: slot, key: key, into: f)
                }
                let from = f * w, to = i * w
                for j in 0..<w { records[to + j] = frameValues[from + j] }
                found[i] = true
            }
            try flushSpill()
        } catch {
            broken = error
            throw error
        }
    }

    public func write(_ keys: [UInt64], _ records: [Float]) throws(RowStorageError) {
        precondition(records.count >= keys.count * width, "FileRowStorage.write: \(records.count) Floats for \(keys.count) records")
        try checkUsable()
        if denseCapacity > 0, let bad = keys.first(where: { $0 >= UInt64(denseCapacity) }) {
            throw RowStorageError("\(directory): key \(bad) is outside the dense table's \(denseCapacity) rows")
        }
        let w = width
        do throws(RowStorageError) {
            for (i, key) in keys.enumerated() {
                let slot = claimSlot(key)
                let f: Int
                if let cached = frameOf[slot] {
                    f = Int(cached)
                } else {
                    f = try takeFrame()
                    install(frame: f, slot: slot)
                }
                frameKey[f] = key
                frameFlags[f] = FileRowStorage.referenced | FileRowStorage.dirty
                let from = i * w, to = f * w
                for j in 0..<w { frameValues[to + j] = records[from + j] }
            }
            try flushSpill()
        } catch {
            broken = error
            throw error
        }
    }

    public func remove(_ keys: [UInt64]) throws(RowStorageError) {
        try checkUsable()
        for key in keys {
            let slot: UInt32
            if denseCapacity > 0 {
                guard key < UInt64(denseCapacity), isPresent(Int(key)) else { continue }
                slot = UInt32(key)
                present[Int(key) >> 6] &= ~(1 << UInt64(key & 63))
            } else {
                guard let s = index.removeValue(forKey: key) else { continue }
                slot = s
                freeSlots.append(s)
            }
            count -= 1
            if let f = frameOf.removeValue(forKey: slot) {
                frameFlags[Int(f)] = 0
                freeFrames.append(f)
            }
            spillIndex.removeValue(forKey: slot)
            if Int(slot) < committedSlotCount { removedSlots.insert(slot) }
        }
    }

    /// Slot order, each record taken from the cache, the spill file or `rows.dat` (read in 4 MiB
    /// runs); the cache is left as it was, so a full scan does not flush the hot records.
    public func scan(chunk: Int, _ body: (_ keys: [UInt64], _ records: [Float]) throws -> Void) throws {
        precondition(chunk > 0, "FileRowStorage.scan: chunk must be positive")
        try checkUsable()
        let w = width, sw = slotWords
        let run = max(1, (1 << 20) / sw)
        var disk = [UInt32](repeating: 0, count: run * sw)
        var keys: [UInt64] = [], records: [Float] = []
        keys.reserveCapacity(chunk)
        var start = 0
        while start < slotCount {
            let n = min(run, slotCount - start)
            let onDisk = max(0, min(n, committedSlotCount - start))
            if onDisk > 0 {
                guard try data.read(into: &disk, count: onDisk * sw, at: offset(ofSlot: start)) == onDisk * sw else {
                    throw RowStorageError("\(data.path): truncated while being scanned")
                }
            }
            for j in 0..<n {
                let slot = start + j
                if denseCapacity > 0 && !isPresent(slot) { continue }
                if let f = frameOf[UInt32(slot)] {
                    let key = frameKey[Int(f)]
                    guard denseCapacity > 0 || index[key] == UInt32(slot) else { continue }
                    keys.append(key)
                    records.append(contentsOf: frameValues[(Int(f) * w)..<(Int(f) * w + w)])
                } else if let p = spillIndex[UInt32(slot)] {
                    let key = try readSpill(entry: Int(p), slot: UInt32(slot))
                    guard denseCapacity > 0 || index[key] == UInt32(slot) else { continue }
                    keys.append(key)
                    for v in 0..<w { records.append(Float(bitPattern: scratch[6 + v])) }
                } else if j < onDisk, let key = try RowFileFormat.decode(slot: slot, disk, at: j * sw, width: w, file: data.path) {
                    if denseCapacity == 0 && index[key] != UInt32(slot) { continue }
                    keys.append(key)
                    for v in 0..<w { records.append(Float(bitPattern: disk[j * sw + 4 + v])) }
                } else {
                    if denseCapacity > 0 { throw RowStorageError("\(data.path): slot \(slot) should hold a record but is empty") }
                    continue
                }
                if keys.count == chunk {
                    try body(keys, records)
                    keys.removeAll(keepingCapacity: true)
                    records.removeAll(keepingCapacity: true)
                }
            }
            start += n
        }
        if !keys.isEmpty { try body(keys, records) }
    }

    /// `cacheBytes + indexBytes + pendingBytes`.
    public var residentBytes: Int { cacheBytes + indexBytes + pendingBytes }

    /// The cache's records and bookkeeping: at most `cacheBudgetBytes`.
    public var cacheBytes: Int {
        frameValues.capacity * 4 + frameSlot.capacity * 4 + frameKey.capacity * 8 + frameFlags.capacity
            + freeFrames.capacity * 4 + FileRowStorage.hashTableBytes(frameOf.capacity, entry: 8)
    }

    /// Outside the budget: the sparse key -> slot index and free-slot list, or the dense presence
    /// bits.
    public var indexBytes: Int {
        present.capacity * 8 + FileRowStorage.hashTableBytes(index.capacity, entry: 12) + freeSlots.capacity * 4
    }

    /// Outside the budget, and emptied by each commit: where changed records evicted since the last
    /// commit are (8 bytes each), which slots were emptied (4 each), and a 256 KiB write buffer.
    public var pendingBytes: Int {
        FileRowStorage.hashTableBytes(spillIndex.capacity, entry: 8) + FileRowStorage.hashTableBytes(removedSlots.capacity, entry: 4)
            + spillPending.capacity * 4
    }

    /// Bytes of a Swift hash table that can take `capacity` entries: power-of-two buckets at most
    /// 3/4 full, one occupancy bit each.
    static func hashTableBytes(_ capacity: Int, entry: Int) -> Int {
        guard capacity > 0 else { return 0 }
        var buckets = 1
        while buckets * 3 / 4 < capacity { buckets *= 2 }
        return buckets * entry + buckets / 8
    }

    // MARK: - Slots

    func offset(ofSlot slot: Int) -> Int { (RowFileFormat.headerWords + slot * slotWords) * 4 }

    func isPresent(_ slot: Int) -> Bool { present[slot >> 6] & (1 << UInt64(slot & 63)) != 0 }

    /// The slot holding `key` now, or nil.
    func existingSlot(_ key: UInt64) -> UInt32? {
        if denseCapacity > 0 {
            return key < UInt64(denseCapacity) && isPresent(Int(key)) ? UInt32(key) : nil
        }
        return index[key]
    }

    /// The slot for writing `key`, taken (and counted) if the key is new. Dense keys are checked
    /// against the capacity by the caller.
    func claimSlot(_ key: UInt64) -> UInt32 {
        let slot: UInt32
        if denseCapacity > 0 {
            slot = UInt32(key)
            if isPresent(Int(key)) { return slot }
            present[Int(key) >> 6] |= 1 << UInt64(key & 63)
        } else {
            if let s = index[key] { return s }
            if let reused = freeSlots.popLast() {
                slot = reused
            } else {
                slot = UInt32(slotCount)
                slotCount += 1
            }
            index[key] = slot
        }
        count += 1
        if !removedSlots.isEmpty { removedSlots.remove(slot) }
        return slot
    }

    // MARK: - Cache frames

    /// A frame for a new record: a free one, a new one while under the budget, or CLOCK's victim
    /// (written to the spill file first if it holds an uncommitted change).
    func takeFrame() throws(RowStorageError) -> Int {
        if let f = freeFrames.popLast() { return Int(f) }
        let frames = frameSlot.count
        if frames < cacheCapacity {
            if frames == reservedFrames {
                // Grown by hand, all arrays alike, so no array's own doubling overshoots the budget.
                let grown = min(cacheCapacity, max(64, 2 * frames))
                reservedFrames = grown
                frameValues.reserveCapacity(grown * width)
                frameSlot.reserveCapacity(grown)
                frameKey.reserveCapacity(grown)
                frameFlags.reserveCapacity(grown)
                if frameOf.capacity < grown { frameOf.reserveCapacity(grown) }
            }
            frameValues.append(contentsOf: repeatElement(0, count: width))
            frameSlot.append(0)
            frameKey.append(0)
            frameFlags.append(0)
            return frames
        }
        while true {
            let f = hand
            hand = hand + 1 == frames ? 0 : hand + 1
            if frameFlags[f] & FileRowStorage.referenced != 0 {
                frameFlags[f] &= ~FileRowStorage.referenced
                continue
            }
            let slot = frameSlot[f]
            if frameFlags[f] & FileRowStorage.dirty != 0 { try spillOut(frame: f) }
            frameOf.removeValue(forKey: slot)
            frameFlags[f] = 0
            return f
        }
    }

    func install(frame f: Int, slot: UInt32) {
        frameOf[slot] = Int32(f)
        frameSlot[f] = slot
    }

    /// Fills frame `f` with `slot`'s record from the spill file or `rows.dat`.
    func load(slot: UInt32, key: UInt64, into f: Int) throws(RowStorageError) {
        let w = width
        do throws(RowStorageError) {
            if let p = spillIndex[slot] {
                let stored = try readSpill(entry: Int(p), slot: slot)
                guard stored == key else { throw RowStorageError("\(spill.path): entry \(p) holds key \(stored), expected \(key)") }
                for j in 0..<w { frameValues[f * w + j] = Float(bitPattern: scratch[6 + j]) }
            } else {
                guard Int(slot) < committedSlotCount,
                      try data.read(into: &scratch, count: slotWords, at: offset(ofSlot: Int(slot))) == slotWords else {
                    throw RowStorageError("\(data.path): slot \(slot) is missing (file truncated?)")
                }
                let stored = try RowFileFormat.decode(slot: Int(slot), scratch, at: 0, width: w, file: data.path)
                guard stored == key else {
                    throw RowStorageError("\(data.path): slot \(slot) holds \(stored.map { "key \($0)" } ?? "nothing"), expected key \(key)")
                }
                for j in 0..<w { frameValues[f * w + j] = Float(bitPattern: scratch[4 + j]) }
            }
        } catch {
            frameFlags[f] = 0
            freeFrames.append(Int32(f))
            throw error
        }
        install(frame: f, slot: slot)
        frameKey[f] = key
        frameFlags[f] = FileRowStorage.referenced
    }

    /// Writes frame `f`'s record to its entry in the spill file (a new entry the first time),
    /// through `spillPending` when the entry is not in the file yet.
    func spillOut(frame f: Int) throws(RowStorageError) {
        let slot = frameSlot[f], ew = entryWords
        let entry: Int
        if let p = spillIndex[slot] {
            entry = Int(p)
        } else {
            entry = spillEntries
            spillEntries += 1
            spillIndex[slot] = UInt32(entry)
        }
        (scratch[0], scratch[1]) = RowWords.split(UInt64(slot))
        RowFileFormat.encode(slot: Int(slot), key: frameKey[f], values: frameValues, from: f * width, width: width, into: &scratch, at: 2)
        if entry < spillWritten {
            try spill.write(scratch, count: ew, at: entry * ew * 4)
            return
        }
        let at = (entry - spillWritten) * ew
        if at == spillPending.count {
            spillPending.append(contentsOf: scratch)
        } else {
            for j in 0..<ew { spillPending[at + j] = scratch[j] }
        }
        if spillPending.count >= FileRowStorage.spillPendingWords { try flushSpill() }
    }

    func flushSpill() throws(RowStorageError) {
        guard !spillPending.isEmpty else { return }
        try spill.write(spillPending, count: spillPending.count, at: spillWritten * entryWords * 4)
        spillWritten += spillPending.count / entryWords
        spillPending.removeAll(keepingCapacity: true)
    }

    /// Reads spill entry `entry` into `scratch` and returns its key (values at `scratch[6...]`).
    func readSpill(entry: Int, slot: UInt32) throws(RowStorageError) -> UInt64 {
        let ew = entryWords
        var got = ew
        if entry >= spillWritten {
            let at = (entry - spillWritten) * ew
            for j in 0..<ew { scratch[j] = spillPending[at + j] }
        } else {
            got = try spill.read(into: &scratch, count: ew, at: entry * ew * 4)
        }
        guard got == ew,
              RowWords.join(scratch[0], scratch[1]) == UInt64(slot),
              let key = try RowFileFormat.decode(slot: Int(slot), scratch, at: 2, width: width, file: spill.path) else {
            throw RowStorageError("\(spill.path): entry \(entry) for slot \(slot) is missing or damaged")
        }
        return key
    }

    /// Refuses use after a failure, and while a prepared commit is not finished.
    func checkUsable() throws(RowStorageError) {
        try checkNotBroken()
        if prepared != nil { throw RowStorageError("\(directory): a prepared commit is not finished yet; the store takes no other use until it is") }
    }

    func checkNotBroken() throws(RowStorageError) {
        if let broken {
            throw RowStorageError("\(directory): unusable after an earlier failure (\(broken)); reopen it to get the last commit back")
        }
    }
}
