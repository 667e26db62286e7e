/// What `mmoe-report` is told: a subcommand, then its flags.
///
///     mmoe-report run DIR
///     mmoe-report paper --runs DIR --out DIR
public struct ReportOptions: Sendable, Equatable {
    public enum Command: String, Sendable {
        /// The MMoE paper's correlation study (`Scripts/reproduce_paper.sh`'s runs).
        case paper
        /// One `mmoe-train` run directory as `DIR/report.html`.
        case run
    }
    public var command: Command = .paper
    /// The directory holding one sub-directory per run.
    public var runs: String? = nil
    /// Where the CSV, the table and the charts go.
    public var out: String? = nil
    /// `run`: the run directory (mmoe-train's `--output_dir`).
    public var runDirectory: String? = nil
    public var help = false

    public init() {}

    static var parser: ArgumentParser<ReportOptions> {
        ArgumentParser(
            usage: "usage: mmoe-report run DIR\n       mmoe-report paper --runs DIR --out DIR",
            groups: [FlagGroup(title: "mmoe-report paper", flags: [
                .optional("runs", \.runs, .path(), none: "required",
                          "directory of run directories, each holding run.json, summary.json and metrics.jsonl"),
                .optional("out", \.out, .path(), none: "required",
                          "where runs.csv, table.md, loss_curves_p<p>.svg and final_loss_vs_correlation.svg are written"),
                .boolean("help", \.help, short: "h", "print this help"),
            ])],
            footer: """
                Run directories without run.json (unfinished runs) are skipped with a note.
                mmoe-report run DIR writes DIR/report.html: one self-contained page with the run's loss, AUC and
                throughput curves, the gate report when present, the summary and the flags.
                """)
    }

    public static var helpText: String { parser.helpText(defaults: ReportOptions()) }

    /// Parses `arguments` (without the program name): the subcommand, then the flags. `--help`
    /// alone is accepted; otherwise both directories are required.
    public static func parse(_ arguments: [String]) throws(OptionsError) -> ReportOptions {
        var options = ReportOptions()
        var rest = arguments
        if let first = rest.first, !first.hasPrefix("-") {
            guard let command = Command(rawValue: first) else {
                throw OptionsError("unknown command \"\(first)\" (the commands are: run, paper)")
            }
            options.command = command
            rest.removeFirst()
            if command == .run {
                if rest.contains(where: { $0 == "--help" || $0 == "-h" }) { options.help = true; return options }
                guard let dir = rest.first, !dir.hasPrefix("-") else { throw OptionsError("run needs the run directory: mmoe-report run DIR") }
                guard rest.count == 1 else { throw OptionsError("run takes one directory and no flags; got \(rest.joined(separator: " "))") }
                options.runDirectory = dir
                return options
            }
        } else if !rest.contains(where: { $0 == "--help" || $0 == "-h" }) {
            throw OptionsError("missing command (usage: mmoe-report run DIR, or mmoe-report paper --runs DIR --out DIR)")
        }
        _ = try parser.parse(rest, into: &options)
        if options.help { return options }
        guard options.runs != nil else { throw OptionsError("--runs DIR is required (the directory of run directories)") }
        guard options.out != nil else { throw OptionsError("--out DIR is required (where the report is written)") }
        return options
    }
}
