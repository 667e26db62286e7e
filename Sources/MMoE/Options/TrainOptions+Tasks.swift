import Foundation

/// The flags of per-task loss settings, the validation set and early stopping, and the checks
/// that tie them to the rest (see the TasksAndValidation article).
extension TrainOptions {
    static var taskFlags: [Flag<TrainOptions>] {
        [
            .value("task_weights", \.taskWeights, .weights,
                   "one weight per task, multiplying its loss (e.g. \"1, 0.5\"); a weight of 0 leaves the task's tower untrained; empty = all 1"),
            .value("task_conditions", \.taskConditions, .taskNames,
                   "one entry per task: - for none, or the name of a binary task whose label must be 1 for a row to count for this task (ESMM's CVR on clicked rows, e.g. \"-, ctr\"); empty = none"),
            .optional("valid_fraction", \.validFraction, .real("F", Requirement("in (0, 1)") { $0 > 0 && $0 < 1 }), none: "none",
                      "hold out this fraction of the training rows as a validation set (chosen by a seeded hash of each row's features); evaluations run on it and the best one's weights are kept"),
            .value("valid_files", \.validFiles, .paths,
                   "validation files in the training data's format (comma-separated; with --schema also globs); evaluations run on them and the best one's weights are kept; empty = none"),
            .value("early_stopping_patience", \.earlyStoppingPatience, .integer("N", .nonNegative),
                   "with a validation set: stop after N evaluations in a row without improvement; 0 = train to the end (the best evaluation's weights are still kept)"),
            .value("early_stopping_metric", \.earlyStoppingMetric, .earlyStoppingMetric,
                   "what picks the best evaluation: auc_mean (mean AUC of the binary tasks), auc:<task>, or loss (the weighted sum of the tasks' validation losses)"),
        ]
    }

    /// A validation set was asked for.
    public var hasValidation: Bool { validFraction != nil || !validFiles.isEmpty }

    /// The combinations these flags cannot be part of; the message names the flag.
    public func checkTaskFlags() throws(OptionsError) {
        if validFraction != nil && !validFiles.isEmpty {
            throw OptionsError("--valid_fraction and --valid_files both give a validation set; give one")
        }
        if !hasValidation {
            for flag in ["early_stopping_patience", "early_stopping_metric"] where explicitFlags.contains(flag) {
                throw OptionsError("--\(flag) needs a validation set to evaluate on: add --valid_fraction F or --valid_files FILES")
            }
            return
        }
        let validation = validFraction != nil ? "--valid_fraction" : "--valid_files"
        if noEval { throw OptionsError("\(validation) evaluates during training, which --no_eval turns off; drop one of them") }
        if checkpoint != nil {
            throw OptionsError("\(validation) keeps the best evaluation's weights in memory, which --checkpoint cannot resume; use --model_save_dir instead")
        }
        if usesEmbeddingStore {
            throw OptionsError("\(validation) keeps a copy of the best evaluation's weights, which needs the model's own embedding table; it cannot be combined with \(embeddingStoreFlag) yet")
        }
    }
}

extension ValueParser where Value == [Float] {
    /// Task weights, written as the number lists are: `"1, 0.5"`, `1,0.5` or `"[1, 0.5]"`; each
    /// finite and >= 0; `""` or `"[]"` is the empty list (all 1).
    static var weights: Self {
        ValueParser(placeholder: "LIST", expected: "a list of weights such as \"1, 0.5\"", read: { (text: String) throws(InvalidValue) in
            var values: [Float] = []
            for e in listEntries(text) {
                guard let v = Float(e), v.isFinite, v >= 0 else { throw InvalidValue("entry \"\(e)\" in \"\(text)\" is not a finite number >= 0") }
                values.append(v)
            }
            return values
        }, show: { "[" + $0.map { "\($0)" }.joined(separator: ", ") + "]" })
    }
}

extension ValueParser where Value == [String] {
    /// Task names, `-` for none: `"-, ctr"`; `""` or `"[]"` is the empty list.
    static var taskNames: Self {
        ValueParser(placeholder: "LIST", expected: "a list such as \"-, ctr\"", read: { (text: String) throws(InvalidValue) in
            let entries = listEntries(text)
            if let blank = entries.firstIndex(of: "") {
                throw InvalidValue("entry \(blank + 1) of \"\(text)\" is empty; write - for a task without a condition")
            }
            return entries
        }, show: { "[" + $0.joined(separator: ", ") + "]" })
    }

    /// Comma-separated paths; `""` is none.
    static var paths: Self {
        ValueParser(placeholder: "FILES", expected: "comma-separated paths", read: { (text: String) throws(InvalidValue) in
            let entries = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            if entries == [""] { return [] }
            if entries.contains("") { throw InvalidValue("\"\(text)\" has an empty path between commas") }
            return entries
        }, show: { $0.isEmpty ? "none" : $0.joined(separator: ",") })
    }
}

extension ValueParser where Value == EarlyStoppingMetric {
    static var earlyStoppingMetric: Self {
        ValueParser(placeholder: "METRIC", expected: "auc_mean, auc:<task> or loss", read: { (text: String) throws(InvalidValue) in
            guard let metric = EarlyStoppingMetric(text) else {
                throw InvalidValue("\"\(text)\" is not auc_mean, auc:<task> or loss")
            }
            return metric
        }, show: { $0.description })
    }
}

/// The entries of a list flag written `"a, b"`, `a,b` or `"[a, b]"`, trimmed; none for `""` or `"[]"`.
private func listEntries(_ text: String) -> [String] {
    var body = text.trimmingCharacters(in: .whitespaces)
    if body.hasPrefix("["), body.hasSuffix("]"), body.count >= 2 {
        body = String(body.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
    }
    if body.isEmpty { return [] }
    return body.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
}
