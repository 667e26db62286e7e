/// Commit, recovery and open of a `FileRowStorage` (the design is in its doc comment).

/// Where a test stops `commit`, as if the process were killed right after that step.
enum CommitStage: Equatable {
    /// `commit.wal.partial` is complete and fsynced, not yet renamed.
    case logWritten
    /// The commit point: `commit.wal` is durable, `rows.dat` untouched.
    case logRenamed
    /// Half the log's records copied into `rows.dat`, the header not yet updated.
    case halfApplied
    /// `rows.dat` updated and fsynced, `commit.wal` not yet deleted.
    case applied
}

extension FileRowStorage {
    /// Writes every record changed since the last commit, then `arrays`, as one atomic step (see
    /// `DurableRowStorage`). Costs the changed records: they are written to the log, read back and
    /// copied into `rows.dat`, with three fsyncs.
    public func commit(arrays: [String: [UInt64]]) throws(RowStorageError) {
        try prepare(arrays: arrays)
        try finishPrepared()
    }

    /// Phase one (see `DurableRowStorage.prepare`): the log, complete and fsynced, renamed to
    /// `commit.wal.prepared`; `rows.dat` untouched.
    public func prepare(arrays: [String: [UInt64]]) throws(RowStorageError) {
        try checkUsable()
        do throws(RowStorageError) {
            try writeLog(arrays: arrays)
        } catch {
            broken = error
            throw error
        }
    }

    /// Phase two: the prepared log renamed to `commit.wal` (the commit point) and applied.
    public func finishPrepared() throws(RowStorageError) {
        try checkNotBroken()
        guard let prepared else { throw RowStorageError("\(directory): no prepared commit to finish") }
        do throws(RowStorageError) {
            try applyPrepared(prepared)
        } catch {
            broken = error
            throw error
        }
    }

    private func writeLog(arrays: [String: [UInt64]]) throws(RowStorageError) {
        let next = generation + 1
        var header = RowFileFormat.Header(width: width, denseCapacity: denseCapacity, slotCount: slotCount, count: count, generation: next)
        header.arraysGeneration = arrays == committedArrays ? arraysGeneration : next
        let logPath = FileRowStorage.path(directory, RowFileFormat.logFile)
        let partial = logPath + ".partial"
        var writer = WordWriter(try RowFile(partial, .create))
        try writer.append(header.words(magic: RowFileFormat.logMagic), count: RowFileFormat.headerWords)
        let ew = entryWords
        var entries = 0
        try flushSpill()

        // Changed records evicted from the cache, in spill order (sequential reads); those cached
        // again are taken from the cache below, and entries of removed slots are stale.
        let run = max(1, (1 << 20) / ew)
        var buffer = [UInt32](repeating: 0, count: run * ew)
        var e = 0
        while e < spillEntries {
            let n = min(run, spillEntries - e)
            guard try spill.read(into: &buffer, count: n * ew, at: e * ew * 4) == n * ew else {
                throw RowStorageError("\(spill.path): shorter than its \(spillEntries) entries")
            }
            for k in 0..<n {
                let slot = UInt32(truncatingIfNeeded: RowWords.join(buffer[k * ew], buffer[k * ew + 1]))
                guard spillIndex[slot] == UInt32(e + k), frameOf[slot] == nil else { continue }
                try writer.append(buffer, from: k * ew, count: ew)
                entries += 1
            }
            e += n
        }
        // Cached records newer than rows.dat.
        for f in 0..<frameSlot.count {
            let slot = frameSlot[f]
            guard frameOf[slot] == Int32(f), frameFlags[f] & FileRowStorage.dirty != 0 || spillIndex[slot] != nil else { continue }
            (scratch[0], scratch[1]) = RowWords.split(UInt64(slot))
            RowFileFormat.encode(slot: Int(slot), key: frameKey[f], values: frameValues, from: f * width, width: width, into: &scratch, at: 2)
            try writer.append(scratch, count: ew)
            entries += 1
        }
        // Emptied slots.
        for slot in removedSlots.sorted() {
            (scratch[0], scratch[1]) = RowWords.split(UInt64(slot))
            RowFileFormat.encodeEmpty(into: &scratch, at: 2, width: width)
            try writer.append(scratch, count: ew)
            entries += 1
        }
        try RowWords.encode(arrays: arrays, into: &writer)
        try writer.append(UInt64(entries))
        try writer.finish(endMagic: RowFileFormat.logEnd)
        if simulatedCrash == .logWritten { throw RowStorageError("simulated crash after writing \(partial)") }
        try RowFile.renameDurably(partial, to: logPath + RowFileFormat.preparedSuffix)
        prepared = PreparedLog(header: header, arrays: arrays, entries: entries)
    }

    private func applyPrepared(_ p: PreparedLog) throws(RowStorageError) {
        let logPath = FileRowStorage.path(directory, RowFileFormat.logFile)
        try RowFile.renameDurably(logPath + RowFileFormat.preparedSuffix, to: logPath)  // the commit point
        if simulatedCrash == .logRenamed { throw RowStorageError("simulated crash after renaming \(logPath)") }
        _ = try FileRowStorage.applyLog(logPath, to: data, directory: directory, width: width, denseCapacity: denseCapacity, stop: simulatedCrash)
        let (header, arrays, entries) = (p.header, p.arrays, p.entries)
        let next = header.generation
        self.prepared = nil

        spillIndex = [:]
        spillEntries = 0
        spillWritten = 0
        spillPending = []
        try spill.truncate(toBytes: 0)
        removedSlots = []
        for f in frameFlags.indices { frameFlags[f] &= ~FileRowStorage.dirty }
        committedSlotCount = slotCount
        generation = next
        committedArrays = arrays
        arraysGeneration = header.arraysGeneration
        lastCommitRecords = entries
    }

    /// Verifies the complete log at `logPath` and copies it into `rows.dat`: its slot images, the
    /// named arrays (`arrays.dat`), the header; fsyncs, then deletes the log. Safe to repeat after a
    /// crash at any point, since every step writes final values. Returns the header and arrays.
    static func applyLog(_ logPath: String, to data: RowFile, directory: String, width: Int, denseCapacity: Int,
                         stop: CommitStage? = nil) throws(RowStorageError) -> (RowFileFormat.Header, [String: [UInt64]]) {
        let ew = RowFileFormat.entryWords(width: width), sw = RowFileFormat.slotWords(width: width)
        let log: RowFile, header: RowFileFormat.Header, entries: Int, arrays: [String: [UInt64]]
        do throws(RowStorageError) {
            log = try RowFile(logPath, .readOnly)
            let words = try RowWords.wordCount(log, what: "commit log")
            guard words >= RowFileFormat.headerWords + 5 else { throw RowStorageError("\(logPath): commit log is truncated (\(words * 4) bytes)") }
            try RowWords.verifyTrailer(log, words: words, endMagic: RowFileFormat.logEnd, what: "commit log")
            var head = [UInt32](repeating: 0, count: RowFileFormat.headerWords)
            try log.read(into: &head, count: RowFileFormat.headerWords, at: 0)
            header = try RowFileFormat.Header(head, magic: RowFileFormat.logMagic, file: logPath, what: "commit log")
            var tail = [UInt32](repeating: 0, count: 2)
            try log.read(into: &tail, count: 2, at: (words - 4) * 4)
            entries = Int(exactly: RowWords.join(tail[0], tail[1])) ?? Int.max
            guard entries <= words / ew else { throw RowStorageError("\(logPath): commit log is damaged (\(entries) entries do not fit)") }
            let arraysStart = RowFileFormat.headerWords + entries * ew
            guard arraysStart < words - 4 else { throw RowStorageError("\(logPath): commit log is damaged (\(entries) entries do not fit)") }
            var section = [UInt32](repeating: 0, count: words - 4 - arraysStart)
            try log.read(into: &section, count: section.count, at: arraysStart * 4)
            arrays = try RowWords.decodeArrays(section, from: 0, to: section.count, file: logPath)
        } catch {
            throw RowStorageError("\(error); the last commit cannot be recovered, and rows.dat may hold part of it")
        }
        guard header.width == width, header.denseCapacity == denseCapacity else {
            throw RowStorageError("\(logPath): a commit log for width \(header.width) with \(header.keysDescription), not this store's")
        }

        let needed = (RowFileFormat.headerWords + header.slotCount * sw) * 4
        if try data.size() < needed { try data.truncate(toBytes: needed) }
        // Entries are applied a run at a time, sorted by slot so neighbouring slots go out in one
        // pwrite (a bulk load's log is nearly sequential).
        let run = max(1, (1 << 20) / ew)
        var buffer = [UInt32](repeating: 0, count: run * ew)
        var out = [UInt32](repeating: 0, count: run * sw)
        let limit = stop == .halfApplied ? entries / 2 : entries
        var done = 0
        while done < limit {
            let n = min(run, limit - done)
            try log.read(into: &buffer, count: n * ew, at: (RowFileFormat.headerWords + done * ew) * 4)
            var order: [(slot: Int, k: Int)] = []
            order.reserveCapacity(n)
            for k in 0..<n {
                let slot = Int(RowWords.join(buffer[k * ew], buffer[k * ew + 1]))
                guard slot < header.slotCount else { throw RowStorageError("\(logPath): entry \(done + k) names slot \(slot) of \(header.slotCount)") }
                if let key = try RowFileFormat.decode(slot: slot, buffer, at: k * ew + 2, width: width, file: logPath),
                   denseCapacity > 0 && key != UInt64(slot) {
                    throw RowStorageError("\(logPath): entry \(done + k) puts key \(key) in dense slot \(slot)")
                }
                order.append((slot, k))
            }
            order.sort { $0.slot < $1.slot }
            var i = 0
            while i < order.count {
                var j = i
                while j + 1 < order.count && order[j + 1].slot == order[j].slot + 1 { j += 1 }
                for m in i...j {
                    let from = order[m].k * ew + 2, to = (m - i) * sw
                    for x in 0..<sw { out[to + x] = buffer[from + x] }
                }
                try data.write(out, count: (j - i + 1) * sw, at: (RowFileFormat.headerWords + order[i].slot * sw) * 4)
                i = j + 1
            }
            done += n
        }
        if stop == .halfApplied { throw RowStorageError("simulated crash half-way through applying \(logPath)") }

        if header.arraysGeneration == header.generation {
            try writeArrays(arrays, generation: header.generation, directory: directory)
        }
        try data.write(header.words(magic: RowFileFormat.dataMagic), count: RowFileFormat.headerWords, at: 0)
        try data.sync()
        if stop == .applied { throw RowStorageError("simulated crash before deleting \(logPath)") }
        try RowFile.remove(logPath)
        return (header, arrays)
    }

    // MARK: - Open

    /// Deletes scratch, creates an empty store if there is none, locks it, completes a committed
    /// log, resolves a prepared one (`finishing`), and reads and checks the header and the arrays.
    static func openFiles(directory: String, width: Int, denseCapacity: Int, finishing: (UInt64) -> Bool) throws(RowStorageError)
        -> (RowFile, RowFileFormat.Header, [String: [UInt64]]) {
        try RowFile.makeDirectory(directory)
        let dataPath = path(directory, RowFileFormat.dataFile), logPath = path(directory, RowFileFormat.logFile)
        for scratch in [dataPath + ".partial", logPath + ".partial", path(directory, RowFileFormat.arraysFile) + ".partial", path(directory, RowFileFormat.spillFile)] {
            try RowFile.remove(scratch)
        }
        let sw = RowFileFormat.slotWords(width: width)
        if !RowFile.exists(dataPath) {
            if RowFile.exists(logPath) { throw RowStorageError("\(logPath): a commit log without its data file \(dataPath); the store is incomplete") }
            let fresh = RowFileFormat.Header(width: width, denseCapacity: denseCapacity, slotCount: denseCapacity, count: 0, generation: 0)
            let partial = dataPath + ".partial"
            let file = try RowFile(partial, .create)
            try file.write(fresh.words(magic: RowFileFormat.dataMagic), count: RowFileFormat.headerWords, at: 0)
            try file.truncate(toBytes: (RowFileFormat.headerWords + denseCapacity * sw) * 4)
            try file.sync()
            try RowFile.renameDurably(partial, to: dataPath)
        }
        let data = try RowFile(dataPath, .readWrite)
        try data.lockExclusively()
        var recovered: [String: [UInt64]]?
        if RowFile.exists(logPath) {
            recovered = try applyLog(logPath, to: data, directory: directory, width: width, denseCapacity: denseCapacity).1
        }
        // A prepared commit (phase one of a checkpoint across ranks) the process did not finish:
        // applied when its checkpoint completed (`finishing` says so), else dropped.
        let preparedPath = logPath + RowFileFormat.preparedSuffix
        let what = "row store data file"
        if RowFile.exists(preparedPath) {
            let prepared = try readHeader(RowFile(preparedPath, .readOnly), magic: RowFileFormat.logMagic, what: "prepared commit log")
            let committed = try readHeader(data, magic: RowFileFormat.dataMagic, what: what)
            if prepared.generation == committed.generation + 1 && finishing(prepared.generation) {
                try RowFile.renameDurably(preparedPath, to: logPath)
                recovered = try applyLog(logPath, to: data, directory: directory, width: width, denseCapacity: denseCapacity).1
            } else {
                try RowFile.remove(preparedPath)
            }
        }
        let header = try readHeader(data, magic: RowFileFormat.dataMagic, what: what)
        guard header.width == width, header.denseCapacity == denseCapacity else {
            let asked = RowFileFormat.Header(width: width, denseCapacity: denseCapacity, slotCount: 0, count: 0, generation: 0)
            throw RowStorageError("\(dataPath): holds records of width \(header.width) with \(header.keysDescription); asked for width \(width) with \(asked.keysDescription)")
        }
        let needed = (RowFileFormat.headerWords + header.slotCount * sw) * 4
        let size = try data.size()
        guard size >= needed else {
            throw RowStorageError("\(dataPath): \(what) is truncated (\(size) bytes; its header promises \(header.slotCount) slots, \(needed) bytes)")
        }
        if let recovered { return (data, header, recovered) }
        return (data, header, try readArrays(directory: directory, generation: header.arraysGeneration))
    }

    /// The header at the start of `file` (the data file or a log), checked for `magic`.
    private static func readHeader(_ file: RowFile, magic: (UInt32, UInt32), what: String) throws(RowStorageError) -> RowFileFormat.Header {
        var head = [UInt32](repeating: 0, count: RowFileFormat.headerWords)
        let got = try file.read(into: &head, count: RowFileFormat.headerWords, at: 0)
        return try RowFileFormat.Header(Array(head[0..<got]), magic: magic, file: file.path, what: what)
    }

    /// `arrays.dat`: `[magic, version, 0, generationLo, generationHi, arrays..., crc, end]`.
    static func writeArrays(_ arrays: [String: [UInt64]], generation: UInt64, directory: String) throws(RowStorageError) {
        try RowWords.writeAtomically(path(directory, RowFileFormat.arraysFile), endMagic: RowFileFormat.arraysEnd) { (w: inout WordWriter) throws(RowStorageError) in
            try w.append(RowFileFormat.arraysMagic.0)
            try w.append(RowFileFormat.arraysMagic.1)
            try w.append(RowFileFormat.version)
            try w.append(UInt32(0))
            try w.append(generation)
            try RowWords.encode(arrays: arrays, into: &w)
        }
    }

    static func readArrays(directory: String, generation: UInt64) throws(RowStorageError) -> [String: [UInt64]] {
        let arraysPath = path(directory, RowFileFormat.arraysFile)
        guard RowFile.exists(arraysPath) else {
            if generation == 0 { return [:] }
            throw RowStorageError("\(arraysPath): missing (rows.dat says commit \(generation) wrote it)")
        }
        let file = try RowFile(arraysPath, .readOnly)
        let what = "named-arrays file"
        let words = try RowWords.wordCount(file, what: what)
        guard words >= 9 else { throw RowStorageError("\(arraysPath): \(what) is truncated (\(words * 4) bytes)") }
        try RowWords.verifyTrailer(file, words: words, endMagic: RowFileFormat.arraysEnd, what: what)
        var all = [UInt32](repeating: 0, count: words)
        try file.read(into: &all, count: words, at: 0)
        guard all[0] == RowFileFormat.arraysMagic.0, all[1] == RowFileFormat.arraysMagic.1 else { throw RowStorageError("\(arraysPath): not a \(what) (foreign file)") }
        guard all[2] == RowFileFormat.version else { throw RowStorageError("\(arraysPath): \(what) of format version \(all[2])") }
        let stored = RowWords.join(all[4], all[5])
        guard stored == generation else {
            throw RowStorageError("\(arraysPath): from commit \(stored), but rows.dat says commit \(generation) wrote it last")
        }
        return try RowWords.decodeArrays(all, from: 6, to: words - 2, file: arraysPath)
    }

    /// Rebuilds the dense presence bits, or the sparse index and free list, from `rows.dat`,
    /// verifying every slot on the way.
    /// A store holding no record skips the read: every slot is free, and each is written whole
    /// before it is ever read (a new dense table of 10M rows opens at once).
    func rebuildIndex(expecting expected: Int) throws(RowStorageError) {
        if denseCapacity > 0 {
            present = [UInt64](repeating: 0, count: (denseCapacity + 63) / 64)
        } else {
            index.reserveCapacity(expected)
        }
        if expected == 0 {
            if denseCapacity == 0 { freeSlots = (0..<UInt32(slotCount)).reversed() }
            return
        }
        let sw = slotWords
        let run = max(1, (1 << 20) / sw)
        var buffer = [UInt32](repeating: 0, count: run * sw)
        var found = 0
        var start = 0
        while start < slotCount {
            let n = min(run, slotCount - start)
            guard try data.read(into: &buffer, count: n * sw, at: offset(ofSlot: start)) == n * sw else {
                throw RowStorageError("\(data.path): truncated at slot \(start)")
            }
            for j in 0..<n {
                let slot = start + j
                guard let key = try RowFileFormat.decode(slot: slot, buffer, at: j * sw, width: width, file: data.path) else {
                    if denseCapacity == 0 { freeSlots.append(UInt32(slot)) }
                    continue
                }
                if denseCapacity > 0 {
                    guard key == UInt64(slot) else { throw RowStorageError("\(data.path): dense slot \(slot) holds key \(key)") }
                    present[slot >> 6] |= 1 << UInt64(slot & 63)
                } else {
                    guard index.updateValue(UInt32(slot), forKey: key) == nil else { throw RowStorageError("\(data.path): key \(key) is in two slots") }
                }
                found += 1
            }
            start += n
        }
        freeSlots.reverse()  // lowest slots are reused first
        guard found == expected else {
            throw RowStorageError("\(data.path): the slots hold \(found) records, the header says \(expected)")
        }
    }
}
