import Foundation

/// How much memory a network needs, computed with overflow-checked arithmetic before anything is
/// allocated (issue 19, defect 3): flags such as `--tower_dnn 100000000` or `--num_experts 2^63-1`
/// are refused with the size they would need instead of trapping or aborting on allocation.
extension MMoEConfig {
    /// An upper estimate of the network's dense parameter count (the embedding table not included);
    /// nil when it overflows `Int`.
    public var parameterBound: Int? { sizeBound()?.parameters }

    /// The embedding table's values, `fieldRows` x `embeddingDim`; nil on overflow.
    public var embeddingBound: Int? {
        var total = 0
        for rows in fieldRows {
            let r = total.addingReportingOverflow(rows)
            guard !r.overflow else { return nil }
            total = r.partialValue
        }
        let r = total.multipliedReportingOverflow(by: embeddingDim)
        return r.overflow ? nil : r.partialValue
    }

    /// An upper estimate of the activations one input row takes through the network, forward values
    /// and gradients; nil on overflow.
    public var activationsPerRowBound: Int? { sizeBound()?.activations }

    private func sizeBound() -> (parameters: Int, activations: Int)? {
        func add(_ a: Int?, _ b: Int?) -> Int? {
            guard let a, let b else { return nil }
            let r = a.addingReportingOverflow(b)
            return r.overflow ? nil : r.partialValue
        }
        func mul(_ a: Int?, _ b: Int?) -> Int? {
            guard let a, let b else { return nil }
            let r = a.multipliedReportingOverflow(by: b)
            return r.overflow ? nil : r.partialValue
        }
        func sum(_ xs: [Int?]) -> Int? { xs.reduce(0 as Int?) { add($0, $1) } }
        /// Weights and biases of a dense stack from `input` through `sizes`, and its outputs' width.
        func stack(_ input: Int, _ sizes: [Int]) -> (parameters: Int?, outputs: Int?) {
            var parameters: Int? = 0, inWidth = input
            for s in sizes {
                parameters = add(parameters, mul(add(inWidth, 1), s))
                inWidth = s
            }
            return (parameters, sum(sizes.map { $0 }))
        }
        // inputWidth without its trap: --embedding_vec_size near 2^63 overflows fields x size.
        guard let input = add(mul(fieldCount, embeddingDim), denseWidth) else { return nil }
        let tasks = max(1, numTasks)
        let bottom = kind.hasBottom ? resolvedBottomDNN : expertDNN
        let stackOut = bottom.last ?? input
        // Expert-like stacks per level, gates per level (each choosing among the level's stacks), levels.
        let stacks: Int?, gates: Int, levels: Int
        switch kind {
        case .mmoe: (stacks, gates, levels) = (numExperts, tasks, 1)
        case .omoe: (stacks, gates, levels) = (numExperts, 1, 1)
        case .ple: (stacks, gates, levels) = (add(mul(tasks, taskExperts), sharedExperts), tasks + 1, max(1, pleLevels))
        case .sharedBottom, .singleTask: (stacks, gates, levels) = (1, 0, 1)
        case .simpleMultitask: (stacks, gates, levels) = (tasks, 0, 1)
        }
        let level = stack(max(input, stackOut), bottom)
        let gate = stack(max(input, stackOut), gateDNN + [max(1, min(stacks ?? Int.max, Int(Int32.max)))])
        let tower = stack(stackOut, towerDNN + [1])
        let perLevel = (parameters: add(mul(stacks, level.parameters), mul(gates, gate.parameters)),
                        outputs: add(mul(stacks, level.outputs), mul(gates, gate.outputs)))
        let parameters = sum([mul(levels, perLevel.parameters), mul(tasks, tower.parameters)])
        // Values, gradients and a pre-activation per output: three floats.
        let activations = mul(3, sum([input, mul(levels, perLevel.outputs), mul(tasks, tower.outputs)]))
        guard let parameters, let activations else { return nil }
        return (parameters, activations)
    }
}

/// The memory a training or prediction run will take, checked against the machine's.
public struct MemoryEstimate: CustomStringConvertible {
    /// Bytes per part, in the order they are described; nil when a part overflows `Int`.
    public let parts: [(name: String, bytes: Int?)]

    public var total: Int? {
        parts.reduce(0 as Int?) { acc, p in
            guard let acc, let b = p.bytes else { return nil }
            let r = acc.addingReportingOverflow(b)
            return r.overflow ? nil : r.partialValue
        }
    }

    public static func text(_ bytes: Int?) -> String {
        guard let bytes else { return "more than 9.2 EB (past Int's range)" }
        let gb = Double(bytes) / Double(1 << 30)
        return gb >= 0.1 ? String(format: "%.1f GB", gb) : String(format: "%.1f MB", Double(bytes) / Double(1 << 20))
    }

    public var description: String {
        "about \(Self.text(total)) (" + parts.map { "\($0.name) \(Self.text($0.bytes))" }.joined(separator: ", ") + ")"
    }

    /// The machine's physical memory in bytes.
    public static var machineBytes: Int { Int(clamping: ProcessInfo.processInfo.physicalMemory) }

    /// Whether the total fits in `limit` bytes (the machine's memory by default).
    public func fits(in limit: Int = MemoryEstimate.machineBytes) -> Bool { total.map { $0 <= limit } ?? false }

    /// `count` floats, overflow-checked.
    public static func floats(_ count: Int?, times copies: Int = 1) -> Int? {
        guard let count else { return nil }
        let r = count.multipliedReportingOverflow(by: 4 * copies)
        return r.overflow ? nil : r.partialValue
    }

    /// The network alone (what building it allocates: its values and their gradients), with its
    /// embedding table or without (the rows then live in an embedding store).
    public static func network(_ config: MMoEConfig, embeddingTable: Bool) -> MemoryEstimate {
        var parts: [(String, Int?)] = [("dense parameters and gradients", floats(config.parameterBound, times: 2))]
        if embeddingTable { parts.append(("embedding table and gradients", floats(config.embeddingBound, times: 2))) }
        return MemoryEstimate(parts: parts)
    }

    /// Refuses (naming what needs the memory) a network that does not fit the machine.
    static func check(_ estimate: MemoryEstimate, what: String, advice: String) throws(MMoEConfigError) {
        guard !estimate.fits() else { return }
        throw MMoEConfigError("\(what) needs \(estimate) and this machine has \(text(machineBytes)) of memory; \(advice)")
    }
}
