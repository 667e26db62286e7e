/// Everything `mmoe-predict` can be told, as one value; `PredictOptions()` is a command line with
/// no flags (which `PredictCommand` refuses: the checkpoint and the input are required).
public struct PredictOptions: Sendable, Equatable {
    /// The checkpoint directory (holding `model.safetensors` with its manifest).
    public var modelLoadDir: String? = nil
    /// A raw Census or Taobao file (`.gz` is decompressed), or `-` for standard input.
    public var input: String? = nil
    /// nil or `-`: standard output.
    public var output: String? = nil
    /// nil: the checkpoint's; given, it must be the checkpoint's.
    public var dataset: DatasetKind? = nil
    /// Also print each task's AUC and log loss against the input's labels (to stderr).
    public var eval = false
    /// Also write the exported ONNX graph's inputs for the rows (`ServingInputs`: `.npy` files) into
    /// this directory.
    public var emitInputs: String? = nil
    /// Rows read, encoded and predicted per chunk.
    public var batchSize = 4096
    /// 0 = all cores.
    public var threads = 0
    public var help = false

    public init() {}
}

extension PredictOptions {
    static var parser: ArgumentParser<PredictOptions> {
        // Census or Taobao: the built-in synthetic data has no file format to read.
        let dataset = ValueParser<DatasetKind>(placeholder: "census|taobao|schema", expected: "census, taobao or schema",
                                               read: { (text: String) throws(InvalidValue) in
            guard let kind = DatasetKind(rawValue: text), kind != .synthetic else { throw InvalidValue("\"\(text)\" is not census, taobao or schema") }
            return kind
        }, show: { $0.rawValue })
        return ArgumentParser(
            usage: "usage: mmoe-predict --model_load_dir DIR --input FILE|- [--output FILE|-] [--flag value]...",
            groups: [
                FlagGroup(title: "mmoe-predict arguments", flags: [
                    .optional("model_load_dir", \.modelLoadDir, .path(), none: "none; required",
                              "the checkpoint directory mmoe-train saved (model.safetensors with its manifest)"),
                    .optional("input", \.input, .path("FILE"), none: "none; required",
                              "raw rows in the training data's format (Census-income, .gz too, Taobao CSV, or the --schema files the model was trained on; label columns optional); - reads standard input (plain text)"),
                    .optional("output", \.output, .path("FILE"), none: "standard output",
                              "where the CSV of probabilities goes (written to a temporary file and renamed when complete); - is standard output"),
                    .optional("dataset", \.dataset, dataset, none: "the checkpoint's",
                              "the input's format; must be the data the checkpoint was trained on"),
                    .boolean("eval", \.eval, "also print each task's AUC and log loss against the input's labels to stderr"),
                    .optional("emit_inputs", \.emitInputs, .path(), none: "none",
                              "also write the rows as the exported ONNX graph's inputs (sparse_ids.npy, tag_ids.npy, dense.npy) into DIR"),
                    .value("batch_size", \.batchSize, .integer("N", .positive), "rows read and predicted per chunk"),
                    .value("threads", \.threads, .integer("N", .nonNegative), "threads for parsing, encoding and the forward passes; 0 = all cores"),
                    .boolean("help", \.help, short: "h", "show this help and exit"),
                ]),
            ],
            footer: """
                Output: a header line with the task names, then one line per input row, in input order, with each
                task's probability (the shortest decimal that reads back as the same Float).
                """)
    }

    /// Parses `arguments` (without the program name), starting from `PredictOptions()`. The error is
    /// one line naming the flag and the bad value.
    public static func parse(_ arguments: [String]) throws -> PredictOptions {
        var options = PredictOptions()
        _ = try parser.parse(arguments, into: &options)
        return options
    }

    /// The `--help` text: the usage line, every flag with its default, and the output format.
    public static var helpText: String { parser.helpText(defaults: PredictOptions()) }
}
