/// Collects the nodes and initializers of one ONNX graph, naming every intermediate value
/// uniquely (`/<hint>_<n>`: the leading slash keeps them apart from task and parameter names).
struct ONNXGraphBuilder {
    private(set) var nodes: [ONNX.Node] = []
    private(set) var initializers: [ONNX.TensorValue] = []
    private var counter = 0
    private var constantNames: [String: String] = [:]

    /// A fresh intermediate name.
    mutating func fresh(_ hint: String) -> String {
        counter += 1
        return "/\(hint)_\(counter)"
    }

    /// Adds a float initializer named `name`; returns the name.
    @discardableResult
    mutating func floats(_ name: String, _ shape: [Int], _ values: [Float]) -> String {
        initializers.append(.float(name, shape, values))
        return name
    }

    /// An int64 constant (shapes, axes, indices), shared between nodes that need the same one.
    mutating func int64s(_ shape: [Int], _ values: [Int64]) -> String {
        let key = "\(shape)=\(values)"
        if let name = constantNames[key] { return name }
        let name = "/const_i64_\(constantNames.count)"
        initializers.append(.int64(name, shape, values))
        constantNames[key] = name
        return name
    }

    /// A scalar float constant, shared like `int64s`.
    mutating func scalar(_ value: Float) -> String {
        let key = "f\(value.bitPattern)"
        if let name = constantNames[key] { return name }
        let name = "/const_f32_\(constantNames.count)"
        initializers.append(.float(name, [], [value]))
        constantNames[key] = name
        return name
    }

    /// Appends a node with one output, named `output` or a fresh name; returns the output's name.
    @discardableResult
    mutating func op(_ type: String, _ inputs: [String], _ attributes: [ONNX.Attribute] = [], output: String? = nil, domain: String = "") -> String {
        let out = output ?? fresh(type)
        nodes.append(ONNX.Node(opType: type, inputs: inputs, outputs: [out], name: "\(type)_\(nodes.count)", attributes: attributes, domain: domain))
        return out
    }

    // The ops the exporter composes, with opset-17 input conventions (axes as tensors).

    mutating func squeeze(_ x: String, axis: Int) -> String { op("Squeeze", [x, int64s([1], [Int64(axis)])]) }
    mutating func unsqueeze(_ x: String, axis: Int) -> String { op("Unsqueeze", [x, int64s([1], [Int64(axis)])]) }
    mutating func reshape(_ x: String, _ shape: [Int64]) -> String { op("Reshape", [x, int64s([shape.count], shape)]) }
    mutating func transpose(_ x: String, _ perm: [Int64]) -> String { op("Transpose", [x], [.ints("perm", perm)]) }
    mutating func concat(_ xs: [String], axis: Int) -> String {
        xs.count == 1 ? xs[0] : op("Concat", xs, [.int("axis", Int64(axis))])
    }
    mutating func gather(_ x: String, _ indices: String, axis: Int) -> String { op("Gather", [x, indices], [.int("axis", Int64(axis))]) }
    mutating func reduceSum(_ x: String, axis: Int, keepDims: Bool) -> String {
        op("ReduceSum", [x, int64s([1], [Int64(axis)])], [.int("keepdims", keepDims ? 1 : 0)])
    }
}
