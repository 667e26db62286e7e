/// An embedding table `[V, D]` with a sparse gradient: backward writes only the rows a batch used,
/// and the optimizer and `zeroGrad` visit only those rows. The gradient rows live in a compact
/// buffer in first-touched order, so its size follows the batch, not the table.
public final class EmbeddingTable {
    /// The table's parameter name (`embedding`).
    public let name: String
    /// `[V, D]`
    public let value: Tensor
    /// V, the number of rows.
    public var rows: Int { value.shape[0] }
    /// D, the width of a row.
    public var dim: Int { value.shape[1] }

    /// Rows with a gradient since the last `zeroGrad`, in first-touched order.
    public private(set) var touchedRows: [Int32] = []
    /// `[touchedRows.count * D]`: the gradient of `touchedRows[i]` at `i * D`.
    public private(set) var gradValues: [Float] = []
    /// Position of each row in `touchedRows`, or -1.
    private var slot: [Int32]

    /// A table over the `[V, D]` tensor `value`, with no gradient rows yet.
    public init(name: String, value: Tensor) {
        precondition(value.rank == 2, "EmbeddingTable \(name): value must be [rows, dim], got \(value.shape)")
        self.name = name
        self.value = value.contiguous()
        slot = [Int32](repeating: -1, count: value.shape[0])
    }

    /// Adds each bag's gradient row `grad[bag]` (`[bags, D]`, contiguous) to the rows of that bag,
    /// scaled by 1/size when the bag's field is mean-combined (`mean[bag % mean.count]`).
    /// NOTE: the three bookkeeping arrays are moved into locals for the pass (and back after), so
    /// the per-id loop runs without the exclusivity checks and copy-on-write tests that touching a
    /// class's stored properties costs on every access.
    func accumulateBags(_ grad: UnsafePointer<Float>, ids: [Int32], offsets: [Int32], mean: [Bool]) {
        let d = dim
        var slot = self.slot, touched = touchedRows, values = gradValues
        self.slot = []; touchedRows = []; gradValues = []
        defer { self.slot = slot; touchedRows = touched; gradValues = values }
        // First every id's gradient slot (rows first touched in id order, as before), then the
        // additions over raw pointers, in the same order: bag by bag, id by id.
        var slots = [Int32](repeating: 0, count: ids.count)
        for k in 0..<ids.count { slots[k] = Int32(Self.gradientSlot(of: Int(ids[k]), d, &slot, &touched, &values)) }
        values.withUnsafeMutableBufferPointer { gv in
            slots.withUnsafeBufferPointer { slots in
                var field = 0
                for bag in 0..<(offsets.count - 1) {
                    let isMean = mean[field]
                    field = field + 1 == mean.count ? 0 : field + 1
                    let lo = Int(offsets[bag]), hi = Int(offsets[bag + 1])
                    let scale: Float = isMean && hi > lo ? 1 / Float(hi - lo) : 1
                    let g = grad + bag * d
                    for k in lo..<hi { Kernels.addRow(gv.baseAddress! + Int(slots[k]) * d, g, scale: scale, d) }
                }
            }
        }
    }

    /// A table over the same value storage as `source` (an update to one is an update to both)
    /// with its own, empty gradient: what one shard of a batch accumulates into when shards run
    /// their backward passes concurrently.
    public convenience init(sharingValueOf source: EmbeddingTable) {
        self.init(name: source.name, value: source.value)
    }

    /// Adds the gradient of `other` (a table of the same shape) to this one, row by row; rows new
    /// to this table are appended to `touchedRows` in `other`'s order.
    public func addGradient(of other: EmbeddingTable) {
        precondition(other.value.shape == value.shape, "EmbeddingTable \(name): adding the gradient of a \(other.value.shape) table to a \(value.shape) one")
        let d = dim
        var slot = self.slot, touched = touchedRows, values = gradValues
        self.slot = []; touchedRows = []; gradValues = []
        defer { self.slot = slot; touchedRows = touched; gradValues = values }
        values.reserveCapacity(values.count + other.gradValues.count)
        // Slots first (new rows appended in `other`'s order), then the row additions over raw pointers.
        let slots = other.touchedRows.map { Int32(Self.gradientSlot(of: Int($0), d, &slot, &touched, &values)) }
        values.withUnsafeMutableBufferPointer { gv in
            other.gradValues.withUnsafeBufferPointer { src in
                for (k, s) in slots.enumerated() { Kernels.addRow(gv.baseAddress! + Int(s) * d, src.baseAddress! + k * d, scale: 1, d) }
            }
        }
    }

    /// Adds a gradient given as rows and their values (`values[i * D ..< (i + 1) * D]` for
    /// `rows[i]`), as `addGradient(of:)` adds a table's: what another process computed for its
    /// shard of a batch (distributed training).
    public func addGradient(rows: [Int32], values other: ArraySlice<Float>) {
        let d = dim
        precondition(other.count == rows.count * d, "EmbeddingTable \(name): \(other.count) gradient values for \(rows.count) rows of \(d)")
        var slot = self.slot, touched = touchedRows, values = gradValues
        self.slot = []; touchedRows = []; gradValues = []
        defer { self.slot = slot; touchedRows = touched; gradValues = values }
        let base = other.startIndex
        for (k, row) in rows.enumerated() {
            let s = Self.gradientSlot(of: Int(row), d, &slot, &touched, &values)
            for j in 0..<d { values[s * d + j] += other[base + k * d + j] }
        }
    }

    /// The position of `row`'s gradient in the compact buffer, appending a zeroed one (and the
    /// row to `touched`) on its first touch. Works on the bookkeeping arrays moved into locals.
    @inline(__always)
    static func gradientSlot(of row: Int, _ d: Int, _ slot: inout [Int32], _ touched: inout [Int32],
                                     _ values: inout [Float]) -> Int {
        let s = Int(slot[row])
        if s >= 0 { return s }
        slot[row] = Int32(touched.count)
        touched.append(Int32(row))
        values.append(contentsOf: repeatElement(0, count: d))
        return touched.count - 1
    }

    /// Adds `vector` (`[D]`) to the gradient of `row`: for ops whose rows get other than a bag's
    /// gradient (the compositional embedding's products).
    func addToGradient(row: Int, _ vector: [Float]) {
        let d = dim
        var slot = self.slot, touched = touchedRows, values = gradValues
        self.slot = []; touchedRows = []; gradValues = []
        defer { self.slot = slot; touchedRows = touched; gradValues = values }
        let s = Self.gradientSlot(of: row, d, &slot, &touched, &values)
        for j in 0..<d { values[s * d + j] += vector[j] }
    }

    /// The gradient of `row` (zero when untouched); for tests and optimizers.
    public func gradient(ofRow row: Int) -> [Float] {
        let s = Int(slot[row])
        return s < 0 ? [Float](repeating: 0, count: dim) : Array(gradValues[(s * dim)..<((s + 1) * dim)])
    }

    /// Multiplies the gradient rows by `factor` (loss scaling unscales them this way); returns
    /// whether every result is finite. Costs O(rows touched).
    public func scaleGradient(by factor: Float) -> Bool {
        gradValues.withUnsafeMutableBufferPointer { Kernels.scaleCheckingFinite($0, by: factor) }
    }

    /// Forgets the gradient; costs O(rows touched), not O(V).
    public func zeroGrad() {
        for r in touchedRows { slot[Int(r)] = -1 }
        touchedRows.removeAll(keepingCapacity: true)
        gradValues.removeAll(keepingCapacity: true)
    }
}
