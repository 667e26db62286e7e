import Tensor

/// The part of a run's state that a checkpoint holds beyond the parameters, the optimizer state and
/// the step, so that N steps, a save and M resumed steps equal N + M steps straight, bit for bit.
///
/// - The dropout generator's state is saved (`trainer.dropout_rng`: its four xoshiro256** words,
///   16 lowercase hex digits each, joined by `:`): its draws per step depend on the layer sizes
///   and shard count, so it cannot be re-derived from the seed cheaply.
/// - The data order is not saved: the batch sources are deterministic in (data, seed, batch size),
///   so a resumed run replays them (`skipBatches(step × micro-batches)`) and continues with the same
///   batches. `trainer.seed` and `trainer.batch_size` are saved so that a resume which would
///   replay a different order says so.
extension Trainer {
    public static let dropoutRNGKey = "trainer.dropout_rng"
    public static let seedKey = "trainer.seed"
    public static let batchSizeKey = "trainer.batch_size"
    public static let microBatchKey = "trainer.micro_batch"

    /// The metadata to save with a checkpoint taken now.
    public var checkpointMetadata: [String: String] {
        let s = dropoutRNG.state
        return [Self.dropoutRNGKey: [s.0, s.1, s.2, s.3].map(Self.hex16).joined(separator: ":"),
                Self.seedKey: "\(settings.seed)", Self.batchSizeKey: "\(source.batchSize)",
                Self.microBatchKey: "\(max(1, settings.microBatches))"]
    }

    /// Restores what `checkpointMetadata` saved. Returns notices for settings that differ from the
    /// saved run's (the resume then continues, but not as the saved run would have). A missing
    /// generator state is an error when dropout is on (the masks would differ), and is ignored
    /// otherwise (nothing draws from it then).
    public func restore(checkpointMetadata metadata: [String: String]) throws(TrainingError) -> [String] {
        if let text = metadata[Self.dropoutRNGKey] {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            let w = parts.compactMap { $0.count == 16 ? UInt64($0, radix: 16) : nil }
            // xoshiro256** never reaches the all-zero state.
            guard parts.count == 4, w.count == 4, w != [0, 0, 0, 0] else {
                throw TrainingError(description: "\(Self.dropoutRNGKey) \"\(text)\" is not four 16-digit hexadecimal words")
            }
            dropoutRNG = SeededRNG(state: (w[0], w[1], w[2], w[3]))
        } else if model.config.dropout > 0 {
            throw TrainingError(description: "the checkpoint has no \(Self.dropoutRNGKey), so dropout cannot resume exactly")
        }
        var notices: [String] = []
        if let seed = metadata[Self.seedKey], seed != "\(settings.seed)" {
            notices.append("note: the checkpoint was trained with --seed \(seed), this run uses \(settings.seed): the data order after the resume differs from the saved run's")
        }
        if let size = metadata[Self.batchSizeKey], size != "\(source.batchSize)" {
            notices.append("note: the checkpoint was trained with --batch_size \(size), this run uses \(source.batchSize): the data order after the resume differs from the saved run's")
        }
        if let micro = metadata[Self.microBatchKey], micro != "\(max(1, settings.microBatches))" {
            notices.append("note: the checkpoint was trained with --micro_batch \(micro), this run uses \(max(1, settings.microBatches)): the data order after the resume differs from the saved run's")
        }
        return notices
    }

    static func hex16(_ v: UInt64) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
