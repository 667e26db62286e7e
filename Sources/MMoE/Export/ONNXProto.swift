import Foundation
import Tensor

/// The few ONNX messages the exporter writes, encoded with `ProtobufWriter`. Field numbers are
/// those of `onnx/onnx.proto` (the `onnx-ml` variant is the same for these messages):
///
///     ModelProto        ir_version 1, producer_name 2, producer_version 3, graph 7, opset_import 8
///     OperatorSetIdProto domain 1, version 2
///     GraphProto        node 1, name 2, initializer 5, doc_string 10, input 11, output 12
///     NodeProto         input 1, output 2, name 3, op_type 4, attribute 5, domain 7
///     AttributeProto    name 1, f 2, i 3, s 4, t 5, floats 7, ints 8, type 20
///     TensorProto       dims 1, data_type 2, name 8, raw_data 9
///     ValueInfoProto    name 1, type 2
///     TypeProto         tensor_type 1;  TypeProto.Tensor elem_type 1, shape 2
///     TensorShapeProto  dim 1;  Dimension dim_value 1, dim_param 2
///
/// Tensors are written as `raw_data`: the elements in little-endian byte order, as the
/// specification requires for that field.
public enum ONNX {
    /// The IR version written: 8 (ONNX 1.10 on), which every onnxruntime since 1.10 loads.
    public static let irVersion: Int64 = 8
    /// The default-domain opset written: 17 (ONNX 1.12, onnxruntime 1.12 on).
    public static let opsetVersion: Int64 = 17

    /// The `ai.onnx.ml` opset written when the graph uses `LabelEncoder` (whose int64-to-int64
    /// form is `LabelEncoder` version 2, current in this opset).
    public static let mlOpsetVersion: Int64 = 3

    /// `TensorProto.DataType` values.
    public enum DataType: Int32, Sendable {
        case float = 1, int64 = 7
    }

    /// `AttributeProto.AttributeType` values.
    enum AttributeType: UInt64 {
        case float = 1, int = 2, string = 3, tensor = 4, floats = 6, ints = 7
    }

    /// A graph input or output: a name, an element type and a shape whose entries are a fixed size
    /// or a symbolic name (`"batch"`).
    public struct ValueInfo: Sendable, Equatable {
        public enum Dimension: Sendable, Equatable {
            case fixed(Int)
            case symbolic(String)
        }
        public var name: String
        public var type: DataType
        public var shape: [Dimension]

        func encoded() -> ProtobufWriter {
            var w = ProtobufWriter()
            w.string(1, name)
            w.message(2) { typeProto in
                typeProto.message(1) { tensor in
                    tensor.int64(1, Int64(type.rawValue))
                    tensor.message(2) { shapeProto in
                        for d in shape {
                            shapeProto.message(1) { dim in
                                switch d {
                                case .fixed(let n): dim.int64(1, Int64(n))
                                case .symbolic(let s): dim.string(2, s)
                                }
                            }
                        }
                    }
                }
            }
            return w
        }
    }

    /// A constant tensor (an initializer, or a `Constant` node's value).
    public struct TensorValue: Sendable {
        public var name: String
        public var shape: [Int]
        public var type: DataType
        /// The elements, little-endian (`raw_data`).
        public var raw: Data

        public static func float(_ name: String, _ shape: [Int], _ values: [Float]) -> TensorValue {
            precondition(values.count == shape.reduce(1, *), "ONNX tensor \(name): \(values.count) values for shape \(shape)")
            var raw = Data(count: values.count * 4)
            Kernels.copyBytes(of: values, into: &raw, at: 0)
            return TensorValue(name: name, shape: shape, type: .float, raw: raw)
        }

        public static func int64(_ name: String, _ shape: [Int], _ values: [Int64]) -> TensorValue {
            precondition(values.count == shape.reduce(1, *), "ONNX tensor \(name): \(values.count) values for shape \(shape)")
            var raw = Data(count: values.count * 8)
            Kernels.copyBytes(of: values, into: &raw, at: 0)
            return TensorValue(name: name, shape: shape, type: .int64, raw: raw)
        }

        func encoded() -> ProtobufWriter {
            var w = ProtobufWriter()
            for d in shape { w.int64(1, Int64(d)) }
            w.int64(2, Int64(type.rawValue))
            w.string(8, name)
            w.bytes(9, [UInt8](raw))
            return w
        }

        /// The tensor with its elements in an external data file (`external_data` 13: `location`,
        /// `offset`, `length`; `data_location` 14 = EXTERNAL), as ONNX stores models over 2 GB.
        func encodedExternal(location: String, offset: Int) -> ProtobufWriter {
            var w = ProtobufWriter()
            for d in shape { w.int64(1, Int64(d)) }
            w.int64(2, Int64(type.rawValue))
            w.string(8, name)
            for (key, value) in [("location", location), ("offset", "\(offset)"), ("length", "\(raw.count)")] {
                w.message(13) { entry in
                    entry.string(1, key)
                    entry.string(2, value)
                }
            }
            w.varint(14, 1)
            return w
        }
    }

    /// Where a model's large initializers go when they are written beside it: tensors of at
    /// least `minimumBytes` are appended to one file named `location` (relative to the `.onnx`),
    /// each at an offset aligned to `alignment` bytes, as `onnx.save_model(...,
    /// save_as_external_data=True)` lays them out.
    public struct ExternalData: Sendable {
        public var location: String
        public var minimumBytes = 1024
        public var alignment = 4096
        public init(location: String) { self.location = location }
    }

    /// One node attribute.
    public enum Attribute: Sendable {
        case int(String, Int64)
        case ints(String, [Int64])
        case float(String, Float)
        case tensor(String, TensorValue)

        func encoded() -> ProtobufWriter {
            var w = ProtobufWriter()
            switch self {
            case .int(let name, let v):
                w.string(1, name); w.int64(3, v); w.varint(20, AttributeType.int.rawValue)
            case .float(let name, let v):
                w.string(1, name); w.float(2, v); w.varint(20, AttributeType.float.rawValue)
            case .tensor(let name, let t):
                w.string(1, name); w.message(5, t.encoded()); w.varint(20, AttributeType.tensor.rawValue)
            case .ints(let name, let v):
                // Unpacked, as the reference encoder writes `repeated int64 ints` (proto2).
                w.string(1, name)
                for x in v { w.int64(8, x) }
                w.varint(20, AttributeType.ints.rawValue)
            }
            return w
        }
    }

    public struct Node: Sendable {
        public var opType: String
        public var inputs: [String]
        public var outputs: [String]
        public var name: String
        public var attributes: [Attribute] = []
        public var domain = ""

        func encoded() -> ProtobufWriter {
            var w = ProtobufWriter()
            for i in inputs { w.string(1, i) }
            for o in outputs { w.string(2, o) }
            w.string(3, name)
            w.string(4, opType)
            for a in attributes { w.message(5, a.encoded()) }
            if !domain.isEmpty { w.string(7, domain) }
            return w
        }
    }

    /// A whole model: one graph, its opset imports and who wrote it.
    public struct Model: Sendable {
        public var graphName: String
        public var docString: String
        public var nodes: [Node]
        public var initializers: [TensorValue]
        public var inputs: [ValueInfo]
        public var outputs: [ValueInfo]
        /// (domain, version); "" is the default domain.
        public var opsets: [(domain: String, version: Int64)] = [("", ONNX.opsetVersion)]
        public var producerVersion = "1"

        /// The bytes of every initializer's elements.
        public var initializerBytes: Int { initializers.reduce(0) { $0 + $1.raw.count } }

        /// The serialized `ModelProto`, every tensor inside it.
        public func encoded() -> [UInt8] { encoded(external: nil).model }

        /// The serialized `ModelProto` and, with `external`, the external data file its large
        /// initializers refer to (empty without).
        public func encoded(external: ExternalData?) -> (model: [UInt8], data: Data) {
            var graph = ProtobufWriter()
            for n in nodes { graph.message(1, n.encoded()) }
            graph.string(2, graphName)
            var data = Data()
            for t in initializers {
                if let external, t.raw.count >= external.minimumBytes {
                    let offset = (data.count + external.alignment - 1) / external.alignment * external.alignment
                    data.append(Data(count: offset - data.count))
                    data.append(t.raw)
                    graph.message(5, t.encodedExternal(location: external.location, offset: offset))
                } else {
                    graph.message(5, t.encoded())
                }
            }
            if !docString.isEmpty { graph.string(10, docString) }
            for i in inputs { graph.message(11, i.encoded()) }
            for o in outputs { graph.message(12, o.encoded()) }
            var model = ProtobufWriter()
            model.int64(1, ONNX.irVersion)
            model.string(2, "mmoe-swift")
            model.string(3, producerVersion)
            model.message(7, graph)
            for (domain, version) in opsets {
                model.message(8) { op in
                    op.string(1, domain)
                    op.int64(2, version)
                }
            }
            return (model.bytes, data)
        }
    }
}
