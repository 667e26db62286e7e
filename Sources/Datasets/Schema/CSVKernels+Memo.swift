/// The memo of a sparse field's values and their keys. Categorical columns repeat a few values over
/// and over, and comparing a value's words costs less than hashing it byte by byte (FNV-1a is one
/// multiply per byte, each waiting for the last). Each field has an open-addressing table of
/// `memoSlots` entries, probed at most `memoProbes` times; a value that finds neither itself nor a
/// free entry is hashed without being remembered. A field whose values keep missing (user or item
/// ids, millions of distinct values) turns its memo off after `memoWindow` records and hashes
/// every value straight away, so a high-cardinality column does not pay the probes as well. Values
/// are compared whole, so the memo never changes a key.
extension CSVKernels {
    static let memoSlots = 64
    static let memoBits = 6
    static let memoProbes = 4
    /// Longest value remembered (Census's longest categories are 33 and 34 bytes).
    static let memoBytes = 48
    /// Records between two looks at the fields' misses; a field that missed in over a quarter of
    /// them turns its memo off.
    static let memoWindow = 512

    /// A value of at most `memoBytes` bytes as six little-endian words, zero past its end, and its
    /// length: two values are equal exactly when these are.
    struct ShortValue {
        var w0: UInt64 = 0, w1: UInt64 = 0, w2: UInt64 = 0, w3: UInt64 = 0, w4: UInt64 = 0, w5: UInt64 = 0
        var length = -1

        /// Equal, with one branch for the caller rather than one per word.
        @inline(__always) func same(_ o: ShortValue) -> Bool {
            ((w0 ^ o.w0) | (w1 ^ o.w1) | (w2 ^ o.w2) | (w3 ^ o.w3) | (w4 ^ o.w4) | (w5 ^ o.w5)
             | UInt64(bitPattern: Int64(length ^ o.length))) == 0
        }
    }

    /// One memo entry: a value and its key, one cache line (`MemoTable` aligns them).
    struct MemoEntry {
        var value = ShortValue()
        var key: UInt64 = 0
    }

    /// A field's misses since the last `MemoTable.review`, and whether its memo is on.
    struct MemoState {
        var misses = 0
        var on = true
    }

    /// The memo entries of a record's features, `memoSlots` a feature, each on a cache line of its
    /// own (an array's elements would straddle two, doubling the lines a record touches), and each
    /// feature's `MemoState`. Only the kernels touch it; one encoding (one thread) uses it at a time.
    final class MemoTable {
        let entries: UnsafeMutablePointer<MemoEntry>
        let states: UnsafeMutablePointer<MemoState>
        /// Records since the last `review`.
        let records: UnsafeMutablePointer<Int>
        let count: Int
        let features: Int

        init(features: Int) {
            precondition(MemoryLayout<MemoEntry>.stride == 64, "CSVKernels.MemoEntry must fill one cache line")
            self.features = max(1, features)
            count = self.features * memoSlots
            entries = UnsafeMutableRawPointer.allocate(byteCount: count * 64, alignment: 64).bindMemory(to: MemoEntry.self, capacity: count)
            entries.initialize(repeating: MemoEntry(), count: count)
            states = .allocate(capacity: self.features)
            states.initialize(repeating: MemoState(), count: self.features)
            records = .allocate(capacity: 1)
            records.initialize(to: 0)
        }

        /// Every `memoWindow` records: a feature whose values missed its memo more than once in four
        /// lookups turns its memo off.
        func review() {
            for f in 0 ..< features where states[f].on {
                if states[f].misses &* 4 > records.pointee { states[f].on = false }
                states[f].misses = 0
            }
            records.pointee = 0
        }

        deinit {
            entries.deinitialize(count: count)
            UnsafeMutableRawPointer(entries).deallocate()
            states.deinitialize(count: features)
            states.deallocate()
            records.deallocate()
        }
    }

    /// The low `count` bytes of `word` (none for count <= 0, all for count >= 8), without a branch
    /// on `count` (the lengths of a record's values follow no pattern a predictor could learn).
    @inline(__always) static func low(_ word: UInt64, _ count: Int) -> UInt64 {
        let c = UInt64(truncatingIfNeeded: max(0, min(count, 8)))
        let mask = UInt64.max &>> ((64 &- 8 &* c) & 63)  // all bytes for c = 0 too: cleared below
        return c == 0 ? 0 : word & mask
    }

    /// For each length from 0 to `memoBytes`, the masks of its six words (`low(~0, length - 8 k)`):
    /// a table lookup instead of clamping the length once per word.
    nonisolated(unsafe) static let memoMasks: UnsafePointer<UInt64> = {
        let table = UnsafeMutablePointer<UInt64>.allocate(capacity: 6 * (memoBytes + 1))
        for length in 0 ... memoBytes {
            for k in 0 ..< 6 { (table + 6 * length + k).initialize(to: low(~0, length - 8 * k)) }
        }
        return UnsafePointer(table)
    }()

    /// `base[lo ..< hi]` (at most `memoBytes` bytes; `n` bytes readable from `base`) as a
    /// `ShortValue`.
    @inline(__always) static func shortValue(_ base: UnsafePointer<UInt8>, _ lo: Int, _ hi: Int, _ n: Int, _ memoMasks: UnsafePointer<UInt64>) -> ShortValue {
        let length = hi &- lo
        if lo &+ memoBytes <= n {
            let raw = UnsafeRawPointer(base + lo), masks = memoMasks + 6 &* length
            @inline(__always) func word(_ k: Int) -> UInt64 {
                UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 &* k, as: UInt64.self)) & masks[k]
            }
            return ShortValue(w0: word(0), w1: word(1), w2: word(2), w3: word(3), w4: word(4), w5: word(5), length: length)
        }
        // Near the end of the buffer: byte by byte.
        var v = ShortValue(length: length)
        for i in 0 ..< length {
            let b = UInt64(base[lo &+ i]) &<< UInt64((i & 7) &* 8)
            switch i >> 3 {
            case 0: v.w0 |= b
            case 1: v.w1 |= b
            case 2: v.w2 |= b
            case 3: v.w3 |= b
            case 4: v.w4 |= b
            default: v.w5 |= b
            }
        }
        return v
    }

    /// The first memo entry a value of field `seed` probes, from its first word (`ShortValue.w0`)
    /// and its length (values alike in both share it, and probe on). The field takes part: each
    /// field's table is one 4 KiB page, so entry `s` of every field falls in the same set of the
    /// first-level cache, and a value common to many fields (`Not in universe`) would otherwise
    /// take the same set in each (on the bench's file, where all fields share one word list, this
    /// measured neither faster nor slower).
    @inline(__always) static func slot(_ w0: UInt64, _ length: Int, _ seed: UInt64) -> Int {
        let h = ((w0 &+ UInt64(truncatingIfNeeded: length) &* 0x9e37_79b9_7f4a_7c15) ^ seed) &* 0xff51_afd7_ed55_8ccd
        return Int(truncatingIfNeeded: h &>> UInt64(64 - memoBits))
    }

    /// The key of field `spec`'s value `base[lo ..< hi]`, from the field's memo when it is there,
    /// else hashed (and remembered when there is room). `state`: the field's `MemoState`;
    /// `memoMasks`: the table of that name.
    @inline(__always) static func key(_ spec: FieldSpec, _ base: UnsafePointer<UInt8>, _ lo: Int, _ hi: Int, _ n: Int,
                                      _ memo: UnsafeMutablePointer<MemoEntry>, _ state: UnsafeMutablePointer<MemoState>,
                                      _ memoMasks: UnsafePointer<UInt64>) -> UInt64 {
        guard state.pointee.on, hi &- lo <= memoBytes else { return FieldHash.mix(fnv(spec.seed, base, lo, hi)) }
        let value = shortValue(base, lo, hi, n, memoMasks)
        var s = slot(value.w0, value.length, spec.seed)
        var free: UnsafeMutablePointer<MemoEntry>?
        for _ in 0 ..< memoProbes {
            let entry = memo + s
            if entry.pointee.value.same(value) { return entry.pointee.key }
            if entry.pointee.value.length < 0 { free = entry; break }
            s = (s &+ 1) & (memoSlots &- 1)
        }
        let key = FieldHash.mix(fnv(spec.seed, base, lo, hi))
        if let free { free.pointee = MemoEntry(value: value, key: key) }
        state.pointee.misses &+= 1
        return key
    }
}
