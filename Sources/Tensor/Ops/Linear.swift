/// The activation fused into a dense layer's GEMM epilogue.
public enum Activation: Sendable {
    case none, relu
}

extension Variable {
    /// A dense layer: `act(x · W + b)`.
    /// Shapes: x `[B, D]`, W `[D, H]`, b `[H]` -> `[B, H]`; batched over E experts: x `[B, D]` (shared)
    /// or `[E, B, D]`, W `[E, D, H]`, b `[E, H]` (or `[H]`) -> `[E, B, H]`.
    /// With the tape's `fuseEpilogues` (the default) this is one GEMM pass with bias and activation
    /// in its epilogue, one tape node; without, it records `matmul`, `bias_add` and `relu` as
    /// separate nodes (the same values: the epilogue does the same Float operations).
    public func linear(_ weight: Variable, _ bias: Variable?, activation: Activation = .none) -> Variable {
        guard tape.options.fuseEpilogues else {
            var h = matmul(weight)
            if let bias { h = h.biasAdd(bias) }
            return activation == .relu ? h.relu() : h
        }
        let relu = activation == .relu, bf16 = tape.options.bfloat16
        let out = tape.timed("linear") {
            weight.rank == 2 && rank == 2
                ? Kernels.matmul(value, weight.value, bias: bias?.value, relu: relu, bfloat16: bf16)
                : Kernels.batchedMatmul(value, weight.value, bias: bias?.value, relu: relu, bfloat16: bf16)
        }
        var inputs = [self, weight]
        if let bias { inputs.append(bias) }
        return tape.record(out, inputs: inputs, name: "linear") {
            LinearBackward(x: id, xValue: value, w: weight.id, wValue: weight.value,
                           b: bias?.id ?? -1, bShape: bias?.shape ?? [], relu: relu, out: out)
        }
    }

    /// `self + bias` with the bias broadcast over the rows: self `[B, H]` or `[E, B, H]`, bias `[H]`
    /// (shared) or `[E, H]` (one row per batch entry). The unfused form of a dense layer's epilogue.
    public func biasAdd(_ bias: Variable) -> Variable {
        let h = shape.last ?? 0
        precondition((rank == 2 || rank == 3) && (bias.shape == [h] || (rank == 3 && bias.shape == [shape[0], h])),
                     "biasAdd: bias shape \(bias.shape) does not fit input \(shape) (expected [H] or [E, H])")
        let out = tape.timed("bias_add") { Kernels.add(value, Kernels.biasView(bias.value)) }
        return tape.record(out, inputs: [self, bias], name: "bias_add") {
            BiasAddBackward(x: id, b: bias.id, bShape: bias.shape)
        }
    }
}

/// With z the pre-activation: dz = relu ? dy * (y > 0) : dy; dx = dz · Wᵀ; dW = xᵀ · dz; db = Σ_rows dz.
struct LinearBackward: BackwardOp {
    let x: Int, xValue: Tensor, w: Int, wValue: Tensor, b: Int, bShape: [Int], relu: Bool, out: Tensor
    func backward(_ grad: Tensor, _ tape: Tape) {
        // The ReLU mask and the bias gradient in one pass over the output gradient.
        let (dz, db) = Kernels.epilogueBackward(grad, out: out, relu: relu, biasShape: b >= 0 ? bShape : nil)
        if x >= 0 { tape.accumulateProduct(dz, wValue.transposed(), into: x, nodeShape: xValue.shape) }
        if w >= 0 { tape.accumulateProduct(xValue.transposed(), dz, into: w, nodeShape: wValue.shape) }
        if let db { tape.accumulate(b, db) }
    }
}

/// dx = dy; db = Σ_rows dy.
struct BiasAddBackward: BackwardOp {
    let x: Int, b: Int, bShape: [Int]
    func backward(_ grad: Tensor, _ tape: Tape) {
        tape.accumulate(x, grad)
        if b >= 0 { tape.accumulate(b, Kernels.biasGradient(grad, bShape)) }
    }
}

extension Kernels {
    /// A bias `[H]` as is, `[E, H]` as `[E, 1, H]`: the shape that broadcasts over the rows of `[E, B, H]`.
    static func biasView(_ bias: Tensor) -> Tensor {
        bias.rank == 2 ? bias.reshaped([bias.shape[0], 1, bias.shape[1]]) : bias
    }

    /// The gradient of a row-broadcast bias of shape `bShape` from the output gradient `dz`
    /// `[B, H]` or `[E, B, H]`: dz summed over the rows (and over E for a shared `[H]` bias).
    static func biasGradient(_ dz: Tensor, _ bShape: [Int]) -> Tensor {
        epilogueBackward(dz, out: dz, relu: false, biasShape: bShape).bias!
    }

    /// The backward of a dense layer's epilogue `act(z + bias)` with output `out` `[B, H]` or
    /// `[E, B, H]`, in one pass over the output gradient `grad`: dz = grad where out > 0 (with
    /// `relu`; else grad itself), and, for a bias of shape `biasShape` (`[H]` or `[E, H]`), dz
    /// summed over the rows. Each bias element is 0 + dz_0 + dz_1 + ... in row-major order of
    /// the rows, as `sumToShape` adds them.
    static func epilogueBackward(_ grad: Tensor, out: Tensor, relu: Bool, biasShape: [Int]?) -> (dz: Tensor, bias: Tensor?) {
        precondition(grad.shape == out.shape, "epilogueBackward: gradient shape \(grad.shape) differs from output shape \(out.shape)")
        let g = grad.contiguous()
        let h = g.shape.last ?? 1, rows = h == 0 ? 0 : g.count / h
        let groups = biasShape?.count == 2 ? biasShape![0] : 1
        if let biasShape {
            precondition(biasShape.last == h && (biasShape.count == 1 || (g.rank == 3 && g.shape[0] == groups)),
                         "epilogueBackward: bias shape \(biasShape) does not fit output \(g.shape)")
        }
        guard relu || biasShape != nil else { return (grad, nil) }
        let dz = relu ? Tensor(uninitializedShape: g.shape) : g
        let db = biasShape.map { Tensor(shape: $0, repeating: 0) }
        let y = relu ? out.contiguous() : g
        let pg = UnsafePointer(g.storage.base + g.offset), py = UnsafePointer(y.storage.base + y.offset)
        let pz = dz.storage.base + dz.offset, pb = db.map { $0.storage.base + $0.offset }
        let perGroup = groups == 0 ? 0 : rows / groups
        for r in 0..<rows {
            let gi = pg + r * h, zi = pz + r * h
            var j = 0
            if relu {
                let yi = py + r * h
                while j + 16 <= h { store16(load16(gi + j).replacing(with: 0, where: load16(yi + j) .<= 0), zi + j); j += 16 }
                while j < h { zi[j] = yi[j] > 0 ? gi[j] : 0; j += 1 }
            }
            guard let pb else { continue }
            let acc = pb + (r / perGroup) * h
            j = 0
            while j + 16 <= h { store16(load16(acc + j) + load16(zi + j), acc + j); j += 16 }
            while j < h { acc[j] += zi[j]; j += 1 }
        }
        return (dz, db)
    }
}
