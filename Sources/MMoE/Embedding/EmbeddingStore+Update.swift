import Tensor

extension EmbeddingStore {
    /// The sparse half of a training step, after `optimizer.update(model)` has taken the dense half:
    /// updates the working rows that have a gradient with their state (the optimizer's own row
    /// kernels and scalars), stamps them with the global step and their lookups, writes every
    /// working row but the zero row back, then, on a step that is a multiple of
    /// `settings.evictionInterval`, runs eviction.
    ///
    /// `anyRowTouched`: whether some stored row had a gradient in this step anywhere (a table
    /// sharded by key passes what every rank saw, so AdamAsync's powers advance as in one
    /// process); nil: these working rows tell.
    public func update(_ working: WorkingRows, optimizer: any Optimizer, anyRowTouched: Bool? = nil) throws {
        precondition(working.training, "EmbeddingStore.update: these rows were pulled for evaluation")
        precondition(Self.kind(of: optimizer) == rowOptimizer.kind,
                     "EmbeddingStore.update: the rows carry \(rowOptimizer.kind.rawValue) state, the optimizer is \(type(of: optimizer))")
        let table = working.table
        let realRowsTouched = anyRowTouched ?? table.touchedRows.contains { Int($0) != working.zeroRow }
        rowOptimizer.update(table, state: working.state, optimizer: optimizer, realRowsTouched: realRowsTouched)
        let u = working.keys.count, w = layout.width, d = layout.dim
        guard u > 0 else { return try evictIfDue(step: optimizer.step) }
        var records = Array(working.records[0..<(u * w)])
        let values = table.value.scalars
        for r in 0..<u { for j in 0..<d { records[r * w + j] = values[r * d + j] } }
        rowOptimizer.store(working.state, into: &records, rows: u, layout: layout)
        let step = RowLayout.encode(UInt32(clamping: optimizer.step))
        for r in 0..<u {
            records[r * w + layout.lastUpdateSlot] = step
            let seen = Int(RowLayout.decode(records[r * w + layout.frequencySlot])) + working.occurrences[r]
            records[r * w + layout.frequencySlot] = RowLayout.encode(UInt32(clamping: seen))
        }
        try storage.write(working.keys, records)
        try evictIfDue(step: optimizer.step)
    }

    /// Runs `evict` when `step` is a multiple of the eviction interval.
    func evictIfDue(step: Int) throws {
        guard settings.eviction != nil, step % settings.evictionInterval == 0 else { return }
        try evict(step: step)
    }

    /// Removes the dynamic rows the eviction rule condemns at global step `step`: `gstep N`, rows
    /// last updated at step u with step - u >= N; `l2 T`, rows whose values have an L2 norm below T.
    /// Shared rows of an adaptive store stay. Returns the keys removed, in scan order.
    @discardableResult
    public func evict(step: Int) throws -> [UInt64] {
        guard let rule = settings.eviction else { return [] }
        let w = layout.width, d = layout.dim, last = layout.lastUpdateSlot
        var doomed: [UInt64] = []
        try storage.scan(chunk: 4096) { keys, records in
            for (i, key) in keys.enumerated() where kind != .adaptive || key & Self.sharedTag == 0 {
                switch rule {
                case .globalSteps(let n):
                    if step - Int(RowLayout.decode(records[i * w + last])) >= n { doomed.append(key) }
                case .l2Norm(let threshold):
                    var sum: Float = 0
                    for j in 0..<d { sum += records[i * w + j] * records[i * w + j] }
                    if sum.squareRoot() < threshold { doomed.append(key) }
                }
            }
        }
        try storage.remove(doomed)
        evictions += doomed.count
        return doomed
    }

    /// The `OptimizerKind` an optimizer object implements.
    static func kind(of optimizer: any Optimizer) -> OptimizerKind? {
        switch optimizer {
        case is Adam: .adam
        case is AdamAsync: .adamasync
        case is Adagrad: .adagrad
        case is AdagradDecay: .adagraddecay
        case is GradientDescent: .gradientdescent
        default: nil
        }
    }
}
