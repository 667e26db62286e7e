import Tensor

/// Loss scaling for mixed-precision training (`--amp`, `--loss_scale_policy`), as OneFlow's and
/// PyTorch's grad scalers do it: the backward pass is seeded with the loss times `scale`, so small
/// gradients stay representable in the half-precision GEMM inputs, and the gradients are divided by
/// `scale` again before the L2 term and the optimizer see them.
///
/// - `static`: the scale is always `staticScale` (1024, OneFlow's default policy). Nothing is
///   checked or skipped: an overflow reaches the parameters and stops the run at the next step's
///   non-finite check, as an unscaled overflow would.
/// - `dynamic`: the scale starts at `dynamicInitialScale` (2^30). A step whose gradients hold an
///   Inf or NaN is skipped (no parameter, optimizer-state or optimizer-step change) and the scale
///   halves; after `growthInterval` consecutive clean steps it doubles.
///
/// Scales are powers of two, so scaling and unscaling are exact (barring overflow and subnormals):
/// a clean step gives the very gradients an unscaled backward gives. The scale never doubles past
/// the largest finite power of two, and never halves below 1: gradients that overflow at scale 1
/// are not a scaling problem, and the trainer stops with an error (`overflowAtMinimum`) instead of
/// skipping every step from then on.
public final class LossScaler {
    /// The `static` policy's scale (OneFlow's default).
    public static let staticScale: Float = 1024
    /// The `dynamic` policy's starting scale, 2^30.
    public static let dynamicInitialScale: Float = 0x1p30
    /// OneFlow's and PyTorch's growth interval; `--amp` uses it.
    public static let defaultGrowthInterval = 2000
    static let minimumScale: Float = 1

    /// `static` or `dynamic` (`--loss_scale_policy`).
    public let policy: LossScalePolicy
    /// Clean steps after which a dynamic scale doubles.
    public let growthInterval: Int
    /// What the backward pass is seeded with, times the loss.
    public private(set) var scale: Float
    /// Consecutive clean steps since the last overflow or growth (dynamic only; always 0 for static).
    public private(set) var cleanSteps = 0
    /// Steps skipped for an overflow by this scaler (a count for the run's log; not checkpointed).
    public private(set) var skippedSteps = 0
    /// The last step overflowed with the scale already at 1.
    public private(set) var overflowAtMinimum = false

    /// A scaler at the policy's starting scale.
    public init(policy: LossScalePolicy, growthInterval: Int = LossScaler.defaultGrowthInterval) {
        precondition(growthInterval >= 1, "LossScaler: growthInterval must be at least 1, got \(growthInterval)")
        self.policy = policy
        self.growthInterval = growthInterval
        scale = policy == .static ? Self.staticScale : Self.dynamicInitialScale
    }

    /// Divides the gradients held by `model` (dense and embedding rows) by `scale`, then moves the
    /// policy on by one step. Returns whether the step is to be applied; on false the caller drops
    /// the gradients and leaves the parameters and the optimizer alone.
    /// `table`: the embedding table the step's gradients went to when it is not the model's own
    /// (an embedding store's working table).
    public func unscale(_ model: MMoEModel, table: EmbeddingTable? = nil) -> Bool {
        let inverse = 1 / scale
        var finite = Kernels.scaleCheckingFinite(model.parameters.grads, by: inverse)
        if let table = table ?? model.embedding { finite = table.scaleGradient(by: inverse) && finite }
        return record(finite: finite)
    }

    /// The policy's step after gradients that were (`finite`) or were not all finite.
    func record(finite: Bool) -> Bool {
        overflowAtMinimum = false
        guard policy == .dynamic else { return true }
        guard finite else {
            skippedSteps += 1
            cleanSteps = 0
            overflowAtMinimum = scale <= Self.minimumScale
            scale = max(scale / 2, Self.minimumScale)
            return false
        }
        cleanSteps += 1
        if cleanSteps >= growthInterval {
            cleanSteps = 0
            if (scale * 2).isFinite { scale *= 2 }
        }
        return true
    }
}

/// Checkpointing: the scale and its clean-step counter go into `optimizer.safetensors`'s metadata,
/// so a resumed run continues the schedule exactly.
extension LossScaler {
    static let policyKey = "loss_scale_policy", scaleKey = "loss_scale", cleanStepsKey = "loss_scale_clean_steps"

    var checkpointMetadata: [String: String] {
        [Self.policyKey: policy.rawValue, Self.scaleKey: "\(scale)", Self.cleanStepsKey: "\(cleanSteps)"]
    }

    /// The state saved in `metadata` when it was saved under the same policy; nil when the
    /// checkpoint has none (saved without `--amp`) or another policy's (a run that changes policy
    /// starts that policy afresh). A malformed entry is an error naming the key.
    func savedState(in metadata: [String: String]) throws(LossScaleStateError) -> (scale: Float, cleanSteps: Int)? {
        guard let saved = metadata[Self.policyKey], saved == policy.rawValue else { return nil }
        guard let text = metadata[Self.scaleKey], let s = Float(text), s.isFinite, s >= Self.minimumScale,
              s.significandBitPattern == 0 else {
            throw LossScaleStateError(description: "\(Self.scaleKey) \"\(metadata[Self.scaleKey] ?? "")\" is not a power of two of at least \(Self.minimumScale)")
        }
        guard let cleanText = metadata[Self.cleanStepsKey], let c = Int(cleanText), c >= 0 else {
            throw LossScaleStateError(description: "\(Self.cleanStepsKey) \"\(metadata[Self.cleanStepsKey] ?? "")\" is not a step count")
        }
        return (s, c)
    }

    /// Sets the state read by `savedState(in:)`.
    func restore(scale: Float, cleanSteps: Int) {
        self.scale = scale
        self.cleanSteps = cleanSteps
    }
}

/// Loss-scaler state in a checkpoint that cannot be restored, with the reason.
public struct LossScaleStateError: Error, CustomStringConvertible {
    public let description: String
}
