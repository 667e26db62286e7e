/// The protobuf messages of a TensorBoard event file, encoded with `ProtobufWriter`: TensorFlow's
/// `Event` (`tensorflow/core/util/event.proto`) holding a `Summary`
/// (`tensorflow/core/framework/summary.proto`). Only the fields the project writes:
///
///     Event          { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
///     Summary        { repeated Value value = 1; }
///     Summary.Value  { string tag = 1; float simple_value = 2; TensorProto tensor = 8; SummaryMetadata metadata = 9; }
///     SummaryMetadata{ PluginData plugin_data = 1; DataClass data_class = 4; }   PluginData { string plugin_name = 1; bytes content = 2; }
///     TensorProto    { DataType dtype = 1; TensorShapeProto tensor_shape = 2; repeated bytes string_val = 8; }
///
/// Fields are written in field-number order, as protobuf's own encoders do, so an event is
/// byte-identical to the one TensorBoard's Python writer makes from the same values.
public enum TensorBoardEvent {
    /// The first event of every file: how TensorBoard recognises the format version.
    public static let fileVersion = "brain.Event:2"
    /// `DataType.DT_STRING` in `types.proto`.
    static let stringType: UInt64 = 7
    /// `DataClass.DATA_CLASS_TENSOR` in `summary.proto`.
    static let tensorDataClass: UInt64 = 2

    /// `Event { wall_time, file_version }` (step 0 is the default and is not written).
    public static func version(wallTime: Double) -> [UInt8] {
        var e = ProtobufWriter()
        e.double(1, wallTime)
        e.string(3, fileVersion)
        return e.bytes
    }

    /// One event holding a scalar (`simple_value`) per `(tag, value)`, at `step`.
    public static func scalars(_ values: [(tag: String, value: Float)], step: Int, wallTime: Double) -> [UInt8] {
        event(step: step, wallTime: wallTime) { summary in
            for (tag, value) in values {
                summary.message(1) { v in
                    v.string(1, tag)
                    v.float(2, value)
                }
            }
        }
    }

    /// One event holding `text` for TensorBoard's text plugin (rendered as Markdown): a scalar
    /// string tensor with `plugin_name: "text"`, as `tensorboard.summary.text` writes it.
    public static func text(tag: String, _ text: String, step: Int, wallTime: Double) -> [UInt8] {
        event(step: step, wallTime: wallTime) { summary in
            summary.message(1) { v in
                v.string(1, tag)
                v.message(8) { tensor in
                    tensor.varint(1, stringType)
                    tensor.message(2, ProtobufWriter())  // a scalar: a shape with no dimensions
                    tensor.string(8, text)
                }
                v.message(9) { metadata in
                    metadata.message(1) { plugin in plugin.string(1, "text") }
                    metadata.varint(4, tensorDataClass)
                }
            }
        }
    }

    static func event(step: Int, wallTime: Double, _ summary: (inout ProtobufWriter) -> Void) -> [UInt8] {
        var e = ProtobufWriter()
        e.double(1, wallTime)
        if step != 0 { e.int64(2, Int64(step)) }
        e.message(5, summary)
        return e.bytes
    }
}
