/// A value on a tape: the forward result and the node it came from.
///
/// A variable is only meaningful during the step of the tape that made it. `id` is -1 for values
/// that need no gradient (constants, anything computed only from constants, everything on a
/// non-recording tape).
public struct Variable {
    /// The tape that recorded this value.
    public let tape: Tape
    /// The node's index on the tape; -1 when no gradient flows to it.
    public let id: Int
    /// The forward result.
    public let value: Tensor

    /// The forward result's shape.
    public var shape: [Int] { value.shape }
    /// The forward result's rank.
    public var rank: Int { value.rank }
    /// Whether a gradient flows back to this value.
    public var requiresGrad: Bool { id >= 0 }
}

/// The local backward of one recorded op. It receives the gradient of the op's output and adds the
/// gradients of its inputs with `tape.accumulate`. Implementations store input *ids* and the
/// tensors they need, never `Variable`s (that would make the tape own itself).
public protocol BackwardOp {
    /// Adds the gradients of the op's inputs, given `grad`, the gradient of its output.
    func backward(_ grad: Tensor, _ tape: Tape)
}

/// Records one training step's ops and walks them in reverse to compute gradients.
///
/// Make a new tape per step: nothing is kept between steps, so memory stays flat. A tape made with
/// `recording: false` is the no-grad mode for evaluation: ops compute their forward value and
/// record nothing.
///
/// `options` choose how ops execute (fused epilogues, bfloat16 GEMM inputs); with a `timeline`,
/// every op's forward and backward is recorded there as an event named after the op.
public final class Tape {
    /// False for the no-grad mode of evaluation: ops record nothing.
    public let isRecording: Bool
    /// How ops execute (fused epilogues, bfloat16 GEMM inputs).
    public let options: TapeOptions
    /// Where each op's forward and backward is recorded as an event, when given.
    public let timeline: Timeline?

    private struct Entry {
        let output: Int
        let name: StaticString
        let op: any BackwardOp
    }

    private var entries: [Entry] = []
    /// Gradient of each node, filled during `backward`. Index = node id.
    private var grads: [Tensor?] = []
    /// Whether `grads[id]` is a buffer this tape allocated (safe to add into in place). The first
    /// gradient a node receives may be shared with another node (an add passes its gradient on
    /// unchanged to both inputs), so it is never written in place.
    private var ownsGrad: [Bool] = []
    /// Parameters that are leaves of this tape, by node id: their gradients go straight to `Parameter.grad`.
    private var parameterLeaves: [Int: Parameter] = [:]
    private var didBackward = false

    /// A new, empty tape for one step; `recording: false` records nothing (evaluation).
    public init(recording: Bool = true, options: TapeOptions = TapeOptions(), timeline: Timeline? = nil) {
        isRecording = recording
        self.options = options
        self.timeline = timeline
    }

    /// Runs an op's forward computation `body`; with a timeline, records it as an event `name`
    /// (category "forward", the output shape in `args` when it is a tensor). Without one this is
    /// a nil check and the call.
    @inline(__always)
    public func timed<R>(_ name: StaticString, _ body: () throws -> R) rethrows -> R {
        guard let timeline else { return try body() }
        let start = Timeline.now()
        let result = try body()
        let end = Timeline.now()
        recordForward(timeline, name, start, end, (result as? Tensor)?.shape)
        return result
    }

    @inline(never)
    private func recordForward(_ timeline: Timeline, _ name: StaticString, _ start: UInt64, _ end: UInt64, _ shape: [Int]?) {
        timeline.record(name: name.description, category: "forward", start: start, end: end,
                        args: shape.map { ["shape": "\($0)"] } ?? [:])
    }

    /// Number of recorded ops (for tests and diagnostics).
    public var recordedOpCount: Int { entries.count }

    private func newNode() -> Int {
        grads.append(nil)
        ownsGrad.append(false)
        return grads.count - 1
    }

    /// A value that needs no gradient.
    public func constant(_ value: Tensor) -> Variable { Variable(tape: self, id: -1, value: value) }

    /// A leaf whose gradient is kept on the tape (read it with `gradient(of:)`).
    public func variable(_ value: Tensor) -> Variable {
        Variable(tape: self, id: isRecording ? newNode() : -1, value: value)
    }

    /// A trainable parameter: its gradient accumulates into `parameter.grad`.
    public func parameter(_ parameter: Parameter) -> Variable {
        guard isRecording else { return constant(parameter.value) }
        let id = newNode()
        parameterLeaves[id] = parameter
        return Variable(tape: self, id: id, value: parameter.value)
    }

    /// Wraps an op's forward result. The backward op is built (and the node recorded) only when the
    /// tape records and some input needs a gradient. `name` labels its backward on the timeline
    /// (`name.backward`).
    public func record(_ value: Tensor, inputs: [Variable], name: StaticString = "op",
                       _ makeBackward: () -> any BackwardOp) -> Variable {
        guard isRecording, inputs.contains(where: { $0.id >= 0 }) else { return constant(value) }
        precondition(inputs.allSatisfy { $0.tape === self }, "Tape.record: inputs come from a different tape")
        return appendNode(value, name, makeBackward())
    }

    /// Records an op whose trainable input is not a tape node (an embedding table): always tracked
    /// while the tape records.
    public func recordLeafOp(_ value: Tensor, name: StaticString = "op", _ makeBackward: () -> any BackwardOp) -> Variable {
        guard isRecording else { return constant(value) }
        return appendNode(value, name, makeBackward())
    }

    private func appendNode(_ value: Tensor, _ name: StaticString, _ op: any BackwardOp) -> Variable {
        let id = newNode()
        entries.append(Entry(output: id, name: name, op: op))
        return Variable(tape: self, id: id, value: value)
    }

    /// Same as `record` for single-input ops.
    public func record(_ value: Tensor, input: Variable, name: StaticString = "op",
                       _ makeBackward: () -> any BackwardOp) -> Variable {
        record(value, inputs: [input], name: name, makeBackward)
    }

    /// The gradient buffer of a parameter leaf, for ops that write their gradient in place, with
    /// the beta to write it with: 1 (add to it), or 0 (overwrite it) while its values only count
    /// as zero (`Parameter.gradIsStale`); the caller must then write every element. Nil for any
    /// other node.
    public func parameterGradient(_ id: Int) -> (grad: Tensor, beta: Float)? {
        guard id >= 0, let p = parameterLeaves[id] else { return nil }
        defer { p.gradIsStale = false }
        return (p.grad, p.gradIsStale ? 0 : 1)
    }

    /// Adds `grad` (same shape as the node) to the gradient of node `id`. Ignored for id -1.
    public func accumulate(_ id: Int, _ grad: Tensor) {
        guard id >= 0 else { return }
        if let p = parameterLeaves[id] {
            precondition(grad.shape == p.grad.shape, "backward: gradient shape \(grad.shape) does not match parameter \(p.name) shape \(p.grad.shape)")
            if p.gradIsStale {
                p.grad.assign(grad)
                p.gradIsStale = false
            } else {
                Kernels.addInPlace(p.grad, grad)
            }
            return
        }
        if let existing = grads[id] {
            precondition(existing.shape == grad.shape, "backward: gradient shapes \(existing.shape) and \(grad.shape) differ for one node")
            if ownsGrad[id] {
                Kernels.addInPlace(existing, grad)
            } else {
                grads[id] = Kernels.add(existing, grad)
                ownsGrad[id] = true
            }
        } else {
            grads[id] = grad
        }
    }

    /// Backpropagates from a scalar (one-element) `loss`, seeding its gradient with `seed`.
    /// Gradients accumulate: parameters' `grad` buffers are added to, never overwritten.
    public func backward(_ loss: Variable, seed: Float = 1) {
        precondition(isRecording, "backward: this tape does not record (no-grad mode)")
        precondition(loss.tape === self, "backward: the loss comes from a different tape")
        precondition(loss.value.count == 1, "backward: needs a scalar loss, got shape \(loss.shape)")
        precondition(!didBackward, "backward: already called on this tape; make a new tape per step")
        didBackward = true
        guard loss.id >= 0 else { return }
        grads[loss.id] = Tensor(shape: loss.shape, repeating: seed)
        for entry in entries.reversed() {
            guard let g = grads[entry.output] else { continue }
            // Intermediate gradients are dropped as soon as they are consumed.
            grads[entry.output] = nil
            if let timeline {
                let start = Timeline.now()
                entry.op.backward(g, self)
                timeline.record(name: "\(entry.name).backward", category: "backward", start: start, end: Timeline.now())
            } else {
                entry.op.backward(g, self)
            }
        }
        entries.removeAll()
        // A leaf no op wrote still holds old values that count as zero: make them zeros.
        for p in parameterLeaves.values where p.gradIsStale {
            Kernels.zero(p.grad)
            p.gradIsStale = false
        }
    }

    /// The gradient of a leaf made with `variable(_:)` after `backward` (nil if it got none).
    public func gradient(of v: Variable) -> Tensor? {
        v.id >= 0 ? grads[v.id] : nil
    }
}
