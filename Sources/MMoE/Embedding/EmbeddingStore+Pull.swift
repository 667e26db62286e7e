import Tensor

/// The rows one step (or one evaluation chunk) works on, pulled out of a store.
public struct WorkingRows {
    /// `[U, D]` (plus the zero row, when some id has no row): what the model's lookups read and
    /// its backward writes gradients into.
    public let table: EmbeddingTable
    /// The pulled batches with their ids (and, for multihash, paired ids) renumbered into `table`.
    public let batches: [Batch]
    /// The storage key of each working row but the zero row, `[U]`.
    public let keys: [UInt64]
    /// The index of the zero row in `table` (always the last), or nil when every id has a row.
    public let zeroRow: Int?
    /// `[U + zero row, width]`: the pulled records (values as pulled, state, bookkeeping).
    let records: [Float]
    /// The optimizer state of each row, `[U + zero row, part width]` per part.
    let state: [Tensor]
    /// Lookups of each working row in the batches.
    let occurrences: [Int]
    let training: Bool
}

extension EmbeddingStore {
    /// Pulls the rows of `batches` into a working table. In training, ids are counted by the
    /// filter and admitted ones get rows (created here, written back by `update`); in evaluation
    /// nothing is created or counted. Working rows are in order of first lookup.
    public func pull(_ batches: [Batch], training: Bool) throws -> WorkingRows {
        let asked = try lookupKeys(batches)
        let resolved = try resolve(asked.candidates, counts: asked.counts, firstIds: asked.firstIds, training: training)
        let working = zip(batches, asked.lookups).enumerated().map { b, pair in
            let (batch, slots) = pair
            return Batch(size: batch.size, dense: batch.dense, ids: slots.map { resolved.rowOf[Int($0)] }, bagOffsets: batch.bagOffsets,
                         labels: batch.labels, pairedIds: kind == .multihash ? asked.pairedLookups[b].map { resolved.rowOf[Int($0)] } : nil)
        }
        return resolved.working(batches: working)
    }

    /// The keys a pull of `batches` asks for: step 1 of `pull`.
    func lookupKeys(_ batches: [Batch]) throws -> LookupKeys {
        var asked = LookupKeys()
        var slotOf: [UInt64: Int32] = [:]
        func slot(_ key: UInt64, _ id: Int32) -> Int32 {
            if let s = slotOf[key] { asked.counts[Int(s)] += 1; return s }
            let s = Int32(asked.candidates.count)
            slotOf[key] = s
            asked.candidates.append(key)
            asked.counts.append(1)
            asked.firstIds.append(id)
            return s
        }
        let f = fieldOffsets.count
        for batch in batches {
            var slots = [Int32](repeating: 0, count: batch.ids.count)
            switch kind {
            case .fixed:
                for (k, id) in batch.ids.enumerated() { slots[k] = slot(UInt64(id), id) }
            case .dynamic, .adaptive:
                guard let keys = batch.keys else {
                    throw EmbeddingStoreError("a \(kind.rawValue) embedding table looks ids up by their raw 64-bit keys, and this data was read without them")
                }
                let mask: UInt64 = kind == .adaptive ? ~Self.sharedTag : ~0
                for (k, id) in batch.ids.enumerated() { slots[k] = slot(keys[k] & mask, id) }
            case .multihash:
                var paired = [Int32](repeating: 0, count: batch.ids.count)
                try forEachLookup(batch) { k, bag in
                    let field = bag % f, id = batch.ids[k]
                    let bucket = Int(id) - fieldOffsets[field]
                    guard bucket >= 0 && bucket < fieldRows[field] else {
                        throw EmbeddingStoreError("id \(id) is outside field \(field)'s rows \(fieldOffsets[field])..<\(fieldOffsets[field] + fieldRows[field])")
                    }
                    let t = multihash[field]
                    slots[k] = slot(UInt64(t.remainder + bucket % t.m), id)
                    paired[k] = slot(UInt64(t.quotient + bucket / t.m), id)
                }
                asked.pairedLookups.append(paired)
            }
            asked.lookups.append(slots)
        }
        return asked
    }

    /// Steps 2 to 4 of `pull`: each candidate key's working row (its record, a new row admitted
    /// now, a shared row, or the zero row), `counts[s]` lookups of candidate s counting towards
    /// admission and the rows' frequency. `firstIds`: the first id that looked each key up (an
    /// adaptive store's shared row; may be empty for other kinds).
    func resolve(_ candidates: [UInt64], counts: [Int], firstIds: [Int32], training: Bool) throws -> ResolvedRows {
        // 2. The candidates' records, where held.
        let w = layout.width, d = layout.dim
        var pulled = [Float](repeating: 0, count: candidates.count * w)
        var found = [Bool](repeating: false, count: candidates.count)
        try storage.read(candidates, into: &pulled, found: &found)

        // 3. Each candidate's working row: its record, a new row (admitted now), a shared row
        //    (adaptive, not admitted) or the zero row (-1).
        var keys: [UInt64] = [], records: [Float] = [], occurrences: [Int] = []
        keys.reserveCapacity(candidates.count)
        records.reserveCapacity(candidates.count * w)
        var rowOf = [Int32](repeating: -1, count: candidates.count)
        var promoted: [(slot: Int, row: Int32)] = [], shared: [Int] = []
        let fresh = rowOptimizer.initialState
        func append(_ key: UInt64, _ record: ArraySlice<Float>, count: Int) -> Int32 {
            keys.append(key)
            records.append(contentsOf: record)
            occurrences.append(count)
            return Int32(keys.count - 1)
        }
        for s in candidates.indices {
            if found[s] {
                rowOf[s] = append(candidates[s], pulled[(s * w)..<((s + 1) * w)], count: counts[s])
                continue
            }
            switch kind {
            case .fixed, .multihash:
                throw EmbeddingStoreError("the store has no row for key \(candidates[s]); a \(kind.rawValue) table holds every row from the start")
            case .dynamic:
                guard training, filter?.admit(candidates[s], occurrences: counts[s]) ?? true else { continue }
                admissions += 1
                let record = initialValues(candidates[s]) + fresh + [0, 0]
                rowOf[s] = append(candidates[s], record[...], count: counts[s])
            case .adaptive:
                if training, filter!.admit(candidates[s], occurrences: counts[s]) {
                    admissions += 1
                    // Values copied from the shared row below; the optimizer state starts fresh.
                    rowOf[s] = append(candidates[s], (initialValues(candidates[s]) + fresh + [0, 0])[...], count: counts[s])
                    promoted.append((s, rowOf[s]))
                } else {
                    shared.append(s)
                }
            }
        }
        if kind == .adaptive && !(promoted.isEmpty && shared.isEmpty) {
            // The hashed rows of the promoted and the rare ids, each read once.
            var sharedSlot: [UInt64: Int] = [:], sharedKeys: [UInt64] = []
            for s in promoted.map(\.slot) + shared where sharedSlot[Self.sharedTag | UInt64(firstIds[s])] == nil {
                sharedSlot[Self.sharedTag | UInt64(firstIds[s])] = sharedKeys.count
                sharedKeys.append(Self.sharedTag | UInt64(firstIds[s]))
            }
            var sharedRecords = [Float](repeating: 0, count: sharedKeys.count * w)
            var sharedFound = [Bool](repeating: false, count: sharedKeys.count)
            try storage.read(sharedKeys, into: &sharedRecords, found: &sharedFound)
            if let missing = sharedFound.firstIndex(of: false) {
                throw EmbeddingStoreError("the adaptive store has no shared row \(sharedKeys[missing] & ~Self.sharedTag); it holds every one from the start")
            }
            for (s, row) in promoted {
                let from = sharedSlot[Self.sharedTag | UInt64(firstIds[s])]! * w
                for j in 0..<d { records[Int(row) * w + j] = sharedRecords[from + j] }
            }
            var sharedRow: [Int: Int32] = [:]
            for s in shared {
                let i = sharedSlot[Self.sharedTag | UInt64(firstIds[s])]!
                if let row = sharedRow[i] {
                    rowOf[s] = row
                    occurrences[Int(row)] += counts[s]
                } else {
                    rowOf[s] = append(sharedKeys[i], sharedRecords[(i * w)..<((i + 1) * w)], count: counts[s])
                    sharedRow[i] = rowOf[s]
                }
            }
        }

        // 4. The zero row, when some lookup has no row: zero values, fresh state.
        let u = keys.count
        let unresolved = rowOf.indices.filter { rowOf[$0] < 0 }
        let zeroRow: Int? = unresolved.isEmpty ? nil : u
        if zeroRow != nil {
            records.append(contentsOf: [Float](repeating: 0, count: d) + fresh + [0, 0])
            occurrences.append(0)
            for s in unresolved {
                rowOf[s] = Int32(u)
                if training { zeroLookups += counts[s] }
            }
        }
        return ResolvedRows(keys: keys, records: records, occurrences: occurrences, rowOf: rowOf, zeroRow: zeroRow, store: self,
                            training: training)
    }

    /// Calls `body(k, bag)` for every lookup k of `batch` with the bag it belongs to (bag = row · F
    /// + field); a batch without bag offsets has one id per bag.
    func forEachLookup(_ batch: Batch, _ body: (_ k: Int, _ bag: Int) throws -> Void) throws {
        guard let offsets = batch.bagOffsets else {
            for k in batch.ids.indices { try body(k, k) }
            return
        }
        for bag in 0..<(offsets.count - 1) {
            for k in Int(offsets[bag])..<Int(offsets[bag + 1]) { try body(k, bag) }
        }
    }
}

/// The distinct keys a pull asks for, in order of first lookup (`EmbeddingStore.lookupKeys`).
struct LookupKeys {
    var candidates: [UInt64] = [], counts: [Int] = [], firstIds: [Int32] = []
    /// Per batch, each lookup's candidate (and, for multihash, its paired candidate).
    var lookups: [[Int32]] = [], pairedLookups: [[Int32]] = []
}

/// Each candidate key's working row (`EmbeddingStore.resolve`): the rows in order of first
/// lookup, then the zero row when some candidate has none.
struct ResolvedRows {
    let keys: [UInt64]
    /// `[rows, width]`, the zero row included.
    let records: [Float]
    let occurrences: [Int]
    /// Per candidate, its working row.
    let rowOf: [Int32]
    let zeroRow: Int?
    let store: EmbeddingStore
    let training: Bool

    /// The working rows, with `batches` already renumbered into them.
    func working(batches: [Batch]) -> WorkingRows {
        let w = store.layout.width, d = store.layout.dim
        let rows = records.count / w
        var values = [Float](repeating: 0, count: rows * d)
        for r in 0..<rows { for j in 0..<d { values[r * d + j] = records[r * w + j] } }
        let table = EmbeddingTable(name: "embedding", value: Tensor(shape: [rows, d], scalars: values))
        return WorkingRows(table: table, batches: batches, keys: keys, zeroRow: zeroRow, records: records,
                           state: store.rowOptimizer.state(of: records, rows: rows, layout: store.layout), occurrences: occurrences,
                           training: training)
    }
}
