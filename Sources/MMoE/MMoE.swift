/// The MMoE module: experts, per-task gates, towers, optimizers and the training loop, built on the
/// `Tensor` module's ops and autograd tape, plus the `mmoe-train` option parsing (kept here, not
/// in the executable, so it can be tested).
import Tensor
