/// Everything `mmoe-export` can be told, as one value.
public struct ExportOptions: Sendable, Equatable {
    /// The checkpoint directory (holding `model.safetensors` with its manifest).
    public var modelDir: String? = nil
    /// The `.onnx` file to write.
    public var out: String? = nil
    /// Also output each task's gate weights.
    public var withGates = false
    /// Weights in `<out>.data` beside the graph (ONNX external data); automatic above 1.75 GiB.
    public var externalData = false
    /// Also write random encoded rows (`.npy`, as `--emit_inputs`) and the model's outputs on them
    /// (`expected.npy`) into this directory: a check that needs no data file (synthetic models too).
    public var sampleDir: String? = nil
    /// Rows of `sampleDir`.
    public var sampleRows = 1000
    public var seed: UInt64 = 1
    public var help = false

    public init() {}
}

extension ExportOptions {
    static var parser: ArgumentParser<ExportOptions> {
        ArgumentParser(
            usage: "usage: mmoe-export --model_dir DIR --out FILE.onnx [--with_gates] [--sample_dir DIR]",
            groups: [
                FlagGroup(title: "mmoe-export arguments", flags: [
                    .optional("model_dir", \.modelDir, .path(), none: "none; required",
                              "the checkpoint directory mmoe-train saved (model.safetensors with its manifest)"),
                    .optional("out", \.out, .path("FILE"), none: "none; required",
                              "the ONNX file to write (through a temporary file renamed when complete)"),
                    .boolean("with_gates", \.withGates, "also output each task's softmax gate weights, <task>_gate [batch, E]"),
                    .boolean("external_data", \.externalData,
                             "keep the weights in <out>.data beside the graph (ONNX external data); automatic when they pass 1.75 GiB, as protobuf files stop at 2 GiB"),
                    .optional("sample_dir", \.sampleDir, .path(), none: "none",
                              "also write random encoded rows as the graph's inputs (.npy) and the model's outputs on them (expected.npy) there"),
                    .value("sample_rows", \.sampleRows, .integer("N", .positive), "rows written to --sample_dir"),
                    .value("seed", \.seed, .unsigned(), "seed of the --sample_dir rows"),
                    .boolean("help", \.help, short: "h", "show this help and exit"),
                ]),
            ],
            footer: """
                The graph takes sparse_ids (int64 [batch, F]), tag_ids (int64 [batch, F_tags, L], -1 pads) and
                dense (float [batch, D]) as the model has them, and outputs one float [batch] per task, named
                after it: the probability for a binary task, the value for a regression task.
                """)
    }

    /// Parses `arguments` (without the program name). The error is one line naming the flag.
    public static func parse(_ arguments: [String]) throws -> ExportOptions {
        var options = ExportOptions()
        _ = try parser.parse(arguments, into: &options)
        return options
    }

    public static var helpText: String { parser.helpText(defaults: ExportOptions()) }
}
