/// The MMoE module: experts, per-task gates, towers, baselines, optimizers and the training loop,
/// built on the `Tensor` module's ops and autograd tape.
public enum MMoEModule {
    public static let name = "MMoE"
}
