/// One sparse field's distinct training values in first-seen order, keyed by `FieldHash`.
///
/// The value bytes are kept beside the keys so that two different values with the same 64-bit key
/// are caught and reported instead of silently sharing an embedding row.
struct FieldVocabulary: Sendable, Equatable {
    /// Key -> local row (0-based, in first-seen order).
    private(set) var localRow: [UInt64: Int32] = [:]
    /// All values' bytes back to back; value `i` is `bytes[ends[i - 1] ..< ends[i]]`.
    private var bytes: [UInt8] = []
    private var ends: [Int] = []

    var count: Int { ends.count }

    /// Two values, different bytes, one key.
    struct Collision: Error {
        let existing: String
        let new: String
        let key: UInt64
    }

    /// The local row of the value in `source[range]`, added as a new row when not yet known.
    mutating func findOrInsert(key: UInt64, _ source: [UInt8], _ range: Range<Int>) throws(Collision) -> Int32 {
        if let row = try find(key: key, source, range) { return row }
        let row = Int32(ends.count)
        bytes.append(contentsOf: source[range])
        ends.append(bytes.count)
        localRow[key] = row
        return row
    }

    /// The local row of the value in `source[range]`, nil when it was never inserted.
    @inline(__always)
    func find(key: UInt64, _ source: [UInt8], _ range: Range<Int>) throws(Collision) -> Int32? {
        guard let row = localRow[key] else { return nil }
        let start = row == 0 ? 0 : ends[Int(row) - 1]
        let end = ends[Int(row)]
        // Index by index rather than through slices, which would retain both buffers per lookup.
        var same = end - start == range.count
        var i = start, j = range.lowerBound
        while same && i < end {
            same = bytes[i] == source[j]
            i += 1
            j += 1
        }
        if !same { throw Collision(existing: value(Int(row)), new: String(decoding: source[range], as: UTF8.self), key: key) }
        return row
    }

    /// Value of local row `i`, as text.
    func value(_ i: Int) -> String {
        let start = i == 0 ? 0 : ends[i - 1]
        return String(decoding: bytes[start ..< ends[i]], as: UTF8.self)
    }

    var values: [String] { (0 ..< count).map(value) }
}
