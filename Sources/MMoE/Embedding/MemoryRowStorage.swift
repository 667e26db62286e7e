/// Every record in memory: a hash map from key to a slot in one growing slab of records, with
/// removed slots reused. OneFlow's `device_mem` and the in-memory tier of `cached_host_mem`.
public final class MemoryRowStorage: RowStorage {
    public let width: Int
    /// Key -> slot; a record lives at `slab[slot * width ..< (slot + 1) * width]`.
    private var slots: [UInt64: Int32] = [:]
    private var slab: [Float] = []
    /// The key held in each slot (for `scan`); meaningless for free slots.
    private var slotKeys: [UInt64] = []
    private var free: [Int32] = []
    public private(set) var hits = 0
    public private(set) var misses = 0

    public init(width: Int) {
        precondition(width > 0, "MemoryRowStorage: width must be positive, got \(width)")
        self.width = width
    }

    public var count: Int { slots.count }
    public var residentBytes: Int { slab.count * MemoryLayout<Float>.size + slots.count * 16 + slotKeys.count * 8 }

    public func read(_ keys: [UInt64], into records: inout [Float], found: inout [Bool]) throws(RowStorageError) {
        precondition(records.count >= keys.count * width && found.count >= keys.count, "MemoryRowStorage.read: buffers too small")
        let w = width
        for (i, key) in keys.enumerated() {
            guard let s = slots[key] else { misses += 1; continue }
            hits += 1
            let from = Int(s) * w
            for j in 0..<w { records[i * w + j] = slab[from + j] }
            found[i] = true
        }
    }

    public func write(_ keys: [UInt64], _ records: [Float]) throws(RowStorageError) {
        precondition(records.count >= keys.count * width, "MemoryRowStorage.write: \(records.count) Floats for \(keys.count) records")
        let w = width
        for (i, key) in keys.enumerated() {
            let s: Int
            if let existing = slots[key] {
                s = Int(existing)
            } else if let reused = free.popLast() {
                s = Int(reused)
                slots[key] = reused
                slotKeys[s] = key
            } else {
                s = slotKeys.count
                slots[key] = Int32(s)
                slotKeys.append(key)
                slab.append(contentsOf: repeatElement(0, count: w))
            }
            for j in 0..<w { slab[s * w + j] = records[i * w + j] }
        }
    }

    public func remove(_ keys: [UInt64]) throws(RowStorageError) {
        for key in keys {
            if let s = slots.removeValue(forKey: key) { free.append(s) }
        }
    }

    /// Slots in ascending order, so the order depends only on the history of writes and removals.
    public func scan(chunk: Int, _ body: (_ keys: [UInt64], _ records: [Float]) throws -> Void) throws {
        precondition(chunk > 0, "MemoryRowStorage.scan: chunk must be positive")
        let isFree = Set(free)
        var keys: [UInt64] = [], records: [Float] = []
        for s in 0..<slotKeys.count where !isFree.contains(Int32(s)) {
            keys.append(slotKeys[s])
            records.append(contentsOf: slab[(s * width)..<((s + 1) * width)])
            if keys.count == chunk {
                try body(keys, records)
                keys.removeAll(keepingCapacity: true)
                records.removeAll(keepingCapacity: true)
            }
        }
        if !keys.isEmpty { try body(keys, records) }
    }
}
