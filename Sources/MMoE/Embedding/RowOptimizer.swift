import Foundation
import Tensor

/// The embedding rows' share of an optimizer, for rows pulled out of an embedding store into a
/// compact working table `[U, D]`: the state each row carries in its record, and the update of a
/// working table. The update runs the very kernels the dense table uses (they index state by the
/// table's touched rows, so `[U, ...]` working state serves as well as `[V, ...]`), with the same
/// scalars, so a row trains bit-identically whether it lives in the model's table or in a store.
///
/// Per-row state, in record order: `adam`, `adamasync`: m then v (D each, start 0); `adagrad`: the
/// accumulator (D, starts at the initial accumulator); `adagraddecay`: the accumulator (D) and the
/// decays the row has had (1, a whole number); `gradientdescent`: none.
public struct RowOptimizer: Sendable {
    public let kind: OptimizerKind
    public let dim: Int
    /// Adagrad's and AdagradDecay's starting accumulator; the optimizer must use the same.
    public let initialAccumulator: Float
    /// Widths of the state parts, in record order (`[D, D]` for the Adams).
    let parts: [Int]
    /// The starting value of each part.
    let initial: [Float]
    /// AdamAsync: β1^t and β2^t of the embedding variable, counting only updates in which some
    /// stored row had a gradient. DeepRec keeps one pair per variable, not per row; a store is one
    /// variable. Starts at (β1, β2) as the optimizer's own pairs do.
    public internal(set) var betaPowers: (beta1: Float, beta2: Float) = (0.9, 0.999)

    public init(kind: OptimizerKind, dim: Int, initialAccumulator: Float = 0.1) {
        self.kind = kind
        self.dim = dim
        self.initialAccumulator = initialAccumulator
        switch kind {
        case .adam, .adamasync: (parts, initial) = ([dim, dim], [0, 0])
        case .adagrad: (parts, initial) = ([dim], [initialAccumulator])
        case .adagraddecay: (parts, initial) = ([dim, 1], [initialAccumulator, 0])
        case .gradientdescent: (parts, initial) = ([], [])
        }
    }

    /// S: state Floats per row.
    public var stateWidth: Int { parts.reduce(0, +) }

    /// The state of a row that has never been updated, `[S]`.
    public var initialState: [Float] {
        zip(parts, initial).flatMap { repeatElement($1, count: $0) }
    }

    /// The working state tensors (`[U, width]` per part) of `rows` records laid out by `layout`.
    func state(of records: [Float], rows: Int, layout: RowLayout) -> [Tensor] {
        var start = layout.dim
        return parts.map { width in
            var values = [Float](repeating: 0, count: rows * width)
            for r in 0..<rows {
                let from = r * layout.width + start
                for j in 0..<width { values[r * width + j] = records[from + j] }
            }
            start += width
            return Tensor(shape: [rows, width], scalars: values)
        }
    }

    /// Writes working state back into `records` (the inverse of `state(of:rows:layout:)`).
    func store(_ state: [Tensor], into records: inout [Float], rows: Int, layout: RowLayout) {
        var start = layout.dim
        for (width, tensor) in zip(parts, state) {
            let values = tensor.scalars
            for r in 0..<rows {
                let to = r * layout.width + start
                for j in 0..<width { records[to + j] = values[r * width + j] }
            }
            start += width
        }
    }

    /// One update of the touched rows of `table` with their working `state`, after `optimizer`
    /// has taken its step (so its step count is this update's). `realRowsTouched`: whether a row
    /// other than the store's zero row had a gradient (AdamAsync advances its powers only then,
    /// as its dense form does only when some row was touched).
    mutating func update(_ table: EmbeddingTable, state: [Tensor], optimizer: any Optimizer, realRowsTouched: Bool) {
        switch optimizer {
        case let o as Adam:
            Kernels.adamUpdateTouchedRows(table, m: state[0], v: state[1], o.stepScalars())
        case let o as AdamAsync:
            guard realRowsTouched else { return }
            Kernels.adamAsyncUpdateTouchedRows(table, m: state[0], v: state[1], alpha: o.alpha(betaPowers),
                                               beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon)
            betaPowers = (betaPowers.beta1 * o.beta1, betaPowers.beta2 * o.beta2)
        case let o as Adagrad:
            precondition(o.initialAccumulator == initialAccumulator, "RowOptimizer: the store's rows start at \(initialAccumulator), Adagrad at \(o.initialAccumulator)")
            Kernels.adagradUpdateTouchedRows(table, accumulator: state[0], learningRate: o.learningRate)
        case let o as AdagradDecay:
            precondition(o.initialAccumulator == initialAccumulator, "RowOptimizer: the store's rows start at \(initialAccumulator), AdagradDecay at \(o.initialAccumulator)")
            Kernels.adagradDecayUpdateTouchedRows(table, accumulator: state[0], decayPower: state[1].reshaped([table.rows]),
                                                  periods: o.step / o.decayStep, learningRate: o.learningRate,
                                                  decay: AccumulatorDecay(rate: o.decayRate, floor: o.initialAccumulator))
        case let o as GradientDescent:
            Kernels.gradientDescentUpdateTouchedRows(table, learningRate: o.learningRate)
        default:
            preconditionFailure("RowOptimizer: no row update for \(type(of: optimizer))")
        }
    }
}
