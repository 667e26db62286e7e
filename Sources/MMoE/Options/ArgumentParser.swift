import Foundation

/// A small flag parser in the manner of Python's argparse, which the OneFlow scripts our users come
/// from were written for: `--flag value` and `--flag=value`, bare booleans, the last repeat wins,
/// no positional arguments. It knows nothing about MMoE; `TrainOptions+Flags.swift` holds the table.
struct ArgumentParser<Options> {
    let usage: String
    let groups: [FlagGroup<Options>]
    /// Printed after the flags in `--help`: how values are written.
    let footer: String

    var flags: [Flag<Options>] { groups.flatMap(\.flags) }

    /// Applies `arguments` to `options` left to right and returns the names of the flags seen.
    ///
    /// A flag that takes a value always takes the next token, even one starting with `-`, so
    /// `--correlation -0.5` works. A bare boolean consumes the next token only when it is exactly
    /// `True`, `False`, `true` or `false`, as the DeepRec scripts write `--flag True`.
    func parse(_ arguments: [String], into options: inout Options) throws(OptionsError) -> Set<String> {
        let byName = Dictionary(uniqueKeysWithValues: flags.map { ($0.name, $0) })
        var seen = Set<String>()
        // The boolean flag just given bare, to explain a stray value that follows it (`--amp yes`).
        var bareBoolean: String?
        var i = 0
        while i < arguments.count {
            let token = arguments[i]
            i += 1
            guard let (name, inline) = Self.split(token) else {
                let hint = bareBoolean.map { " after --\($0), which takes no value (write --\($0)=true or --\($0)=false)" }
                    ?? " (options are written --flag value; see --help)"
                throw OptionsError("unexpected argument \"\(token)\"\(hint)")
            }
            bareBoolean = nil
            let flag: Flag<Options>
            if token.hasPrefix("--"), let known = byName[name] {
                flag = known
            } else if !token.hasPrefix("--"), inline == nil, let known = flags.first(where: { $0.short.map(String.init) == name }) {
                flag = known
            } else {
                let written = name.isEmpty ? token : token.hasPrefix("--") ? "--\(name)" : "-\(name)"
                let hint = suggestion(for: name).map { "; did you mean --\($0)?" } ?? ""
                throw OptionsError("unknown flag \(written)\(hint)")
            }

            let text: String
            if let inline {
                text = inline
            } else if flag.placeholder != nil {
                guard i < arguments.count else {
                    throw OptionsError("--\(flag.name): missing value (expected \(flag.expected))")
                }
                text = arguments[i]
                i += 1
            } else if i < arguments.count, ["True", "False", "true", "false"].contains(arguments[i]) {
                text = arguments[i]
                i += 1
            } else {
                text = "true"
                bareBoolean = flag.name
            }

            do throws(InvalidValue) {
                try flag.assign(&options, text)
            } catch {
                throw OptionsError("--\(flag.name): \(error.reason)")
            }
            seen.insert(flag.name)
        }
        return seen
    }

    /// `--name=value` -> ("name", "value"); `--name` -> ("name", nil); `-h` -> ("h", nil);
    /// nil for anything that is not a flag: a positional word, a negative number, `-` or `--`.
    private static func split(_ token: String) -> (String, String?)? {
        guard token.hasPrefix("-"), token.count > 1, token != "--", Double(token) == nil else { return nil }
        let body = token.dropFirst(token.hasPrefix("--") ? 2 : 1)
        guard let eq = body.firstIndex(of: "=") else { return (String(body), nil) }
        return (String(body[..<eq]), String(body[body.index(after: eq)...]))
    }

    /// The flag the user most likely meant: the same name with `-` for `_`, the one flag the name
    /// abbreviates (argparse accepts abbreviations; we point to the full name instead), or the
    /// nearest name within edit distance 3 that shares at least one character position.
    func suggestion(for unknown: String) -> String? {
        let names = flags.map(\.name)
        let underscored = String(unknown.map { $0 == "-" ? "_" : $0 })
        if names.contains(underscored) { return underscored }
        let extended = names.filter { !unknown.isEmpty && $0.hasPrefix(unknown) }
        if extended.count == 1 { return extended[0] }
        let scored = names.map { ($0, editDistance(unknown, $0)) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= 3, best.1 < unknown.count else { return nil }
        return best.0
    }

    /// The `--help` text: the usage line, each group with one entry per flag ending in its default
    /// (rendered from `defaults`, so it cannot drift from the code), then the footer. Descriptions
    /// wrap at `width` columns under their own column.
    func helpText(defaults: Options, alternative: (label: String, options: Options)? = nil, width: Int = 100) -> String {
        func left(_ f: Flag<Options>) -> String {
            let names = (f.short.map { "-\($0), " } ?? "") + "--\(f.name)"
            return "  " + names + (f.placeholder.map { " \($0)" } ?? "")
        }
        // Long left columns (enum choices) go on their own line rather than widening every row.
        let column = (flags.map { left($0).count }.filter { $0 <= 32 }.max() ?? 0) + 2
        var lines = [usage]
        for group in groups {
            lines.append("")
            lines.append(group.title + ":")
            for f in group.flags {
                let head = left(f)
                var shown = f.show(defaults)
                if let alternative, f.show(alternative.options) != shown { shown += "; \(alternative.label): \(f.show(alternative.options))" }
                var text = wrap("\(f.summary) (default: \(shown))", width: max(width - column, 20))
                if head.count < column - 1 {
                    lines.append(head.padding(toLength: column, withPad: " ", startingAt: 0) + text.removeFirst())
                } else {
                    lines.append(head)
                }
                lines += text.map { String(repeating: " ", count: column) + $0 }
            }
        }
        if !footer.isEmpty {
            lines.append("")
            lines.append(footer)
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Flags shown together under one title in `--help`.
struct FlagGroup<Options> {
    let title: String
    let flags: [Flag<Options>]
}

/// One flag: its name, help, how to write a value into the options and how to show it.
struct Flag<Options> {
    /// Without dashes, as in `explicitFlags`.
    let name: String
    /// A one-letter alias written with one dash (`-h`).
    let short: Character?
    let summary: String
    /// What `--help` shows after the name; nil for a boolean, which may stand alone.
    let placeholder: String?
    /// For the missing-value message: "an integer", "a path".
    let expected: String
    let assign: (inout Options, String) throws(InvalidValue) -> Void
    let show: (Options) -> String

    static func value<V>(_ name: String, _ key: WritableKeyPath<Options, V>, _ parser: ValueParser<V>,
                         _ summary: String) -> Flag {
        Flag(name: name, short: nil, summary: summary, placeholder: parser.placeholder, expected: parser.expected,
             assign: { (options: inout Options, text: String) throws(InvalidValue) in options[keyPath: key] = try parser.read(text) },
             show: { parser.show($0[keyPath: key]) })
    }

    /// A value that may be absent; `none` is how `--help` shows the absence ("all rows").
    static func optional<V>(_ name: String, _ key: WritableKeyPath<Options, V?>, _ parser: ValueParser<V>,
                            none: String, _ summary: String) -> Flag {
        Flag(name: name, short: nil, summary: summary, placeholder: parser.placeholder, expected: parser.expected,
             assign: { (options: inout Options, text: String) throws(InvalidValue) in options[keyPath: key] = try parser.read(text) },
             show: { $0[keyPath: key].map(parser.show) ?? none })
    }

    static func boolean(_ name: String, _ key: WritableKeyPath<Options, Bool>, short: Character? = nil,
                        _ summary: String) -> Flag {
        let parser = ValueParser<Bool>.boolean
        return Flag(name: name, short: short, summary: summary, placeholder: nil, expected: parser.expected,
                    assign: { (options: inout Options, text: String) throws(InvalidValue) in options[keyPath: key] = try parser.read(text) },
                    show: { parser.show($0[keyPath: key]) })
    }
}

/// Why a flag's text was refused, without the flag's name (the parser puts it in front).
struct InvalidValue: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// A rule a parsed value must meet, with the words the error and the help use for it.
struct Requirement<Value> {
    let text: String
    let holds: (Value) -> Bool
    init(_ text: String, _ holds: @escaping (Value) -> Bool) {
        self.text = text
        self.holds = holds
    }
}

extension Requirement where Value: Numeric & Comparable {
    static var positive: Self { Requirement("> 0") { $0 > 0 } }
    static var nonNegative: Self { Requirement(">= 0") { $0 >= 0 } }
}

/// How to read one kind of value from a flag's text, and how to show it in `--help`.
struct ValueParser<Value> {
    let placeholder: String
    let expected: String
    let read: (String) throws(InvalidValue) -> Value
    let show: (Value) -> String

    /// The same parser, refusing values outside `rule` with the text as the user wrote it.
    func requiring(_ rule: Requirement<Value>?) -> ValueParser {
        guard let rule else { return self }
        let read = self.read
        return ValueParser(placeholder: placeholder, expected: expected, read: { (text: String) throws(InvalidValue) in
            let value = try read(text)
            guard rule.holds(value) else { throw InvalidValue("\(text) is out of range, must be \(rule.text)") }
            return value
        }, show: show)
    }
}

extension ValueParser where Value == Int {
    static func integer(_ placeholder: String = "N", _ rule: Requirement<Int>? = nil) -> Self {
        ValueParser(placeholder: placeholder, expected: "an integer", read: { (text: String) throws(InvalidValue) in
            guard let v = Int(text) else { throw InvalidValue("\"\(text)\" is not an integer") }
            return v
        }, show: { String($0) }).requiring(rule)
    }
}

extension ValueParser where Value == UInt64 {
    static func unsigned(_ placeholder: String = "N") -> Self {
        ValueParser(placeholder: placeholder, expected: "a non-negative integer", read: { (text: String) throws(InvalidValue) in
            guard let v = UInt64(text) else {
                throw InvalidValue("\"\(text)\" is not a non-negative integer that fits in 64 bits")
            }
            return v
        }, show: { String($0) })
    }
}

extension ValueParser where Value == Float {
    /// NaN and infinities are refused: no rule could be meant to admit them.
    static func real(_ placeholder: String = "X", _ rule: Requirement<Float>? = nil) -> Self {
        ValueParser(placeholder: placeholder, expected: "a number", read: { (text: String) throws(InvalidValue) in
            guard let v = Float(text) else { throw InvalidValue("\"\(text)\" is not a number") }
            guard v.isFinite else { throw InvalidValue("\"\(text)\" is not a finite number") }
            return v
        }, show: { "\($0)" }).requiring(rule)
    }
}

extension ValueParser where Value == String {
    static func path(_ placeholder: String = "DIR") -> Self {
        ValueParser(placeholder: placeholder, expected: "a path", read: { (text: String) throws(InvalidValue) in
            guard !text.isEmpty else { throw InvalidValue("empty path") }
            return text
        }, show: { $0 })
    }
}

extension ValueParser where Value == Bool {
    /// argparse-style scripts write `True`/`False`; shell habits write `1`/`0`.
    static var boolean: Self {
        ValueParser(placeholder: "BOOL", expected: "true or false", read: { (text: String) throws(InvalidValue) in
            switch text.lowercased() {
            case "true", "1": return true
            case "false", "0": return false
            default: throw InvalidValue("\"\(text)\" is not a boolean (true, false, 1 or 0)")
            }
        }, show: { $0 ? "true" : "false" })
    }
}

extension ValueParser where Value == [Int] {
    /// Layer widths or table sizes, written as OneFlow's scripts do: `"256, 128"`, `"256,128"` or
    /// `"[256, 128]"`; `""` and `"[]"` are the empty list, refused unless `allowEmpty`.
    static func positiveIntegers(allowEmpty: Bool) -> Self {
        ValueParser(placeholder: "LIST", expected: "a list such as \"256, 128\"", read: { (text: String) throws(InvalidValue) in
            var body = text.trimmingCharacters(in: .whitespaces)
            if body.hasPrefix("["), body.hasSuffix("]"), body.count >= 2 {
                body = String(body.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
            }
            if body.isEmpty {
                guard allowEmpty else { throw InvalidValue("needs at least one entry, got \"\(text)\"") }
                return []
            }
            var values: [Int] = []
            for entry in body.split(separator: ",", omittingEmptySubsequences: false) {
                let e = entry.trimmingCharacters(in: .whitespaces)
                guard let v = Int(e), v > 0 else {
                    throw InvalidValue("entry \"\(e)\" in \"\(text)\" is not a positive integer")
                }
                values.append(v)
            }
            return values
        }, show: { "[" + $0.map(String.init).joined(separator: ", ") + "]" })
    }
}

extension ValueParser where Value: RawRepresentable & CaseIterable, Value.RawValue == String {
    static var choice: Self {
        let names = Value.allCases.map(\.rawValue)
        return ValueParser(placeholder: names.joined(separator: "|"), expected: "one of " + names.joined(separator: ", "),
                           read: { (text: String) throws(InvalidValue) in
            guard let v = Value(rawValue: text) else {
                throw InvalidValue("\"\(text)\" is not one of " + names.joined(separator: ", "))
            }
            return v
        }, show: { $0.rawValue })
    }
}

/// `text` in lines of at most `width` characters, broken at spaces (a longer word gets its own line).
private func wrap(_ text: String, width: Int) -> [String] {
    var lines: [String] = []
    var line = ""
    for word in text.split(separator: " ") {
        if !line.isEmpty, line.count + 1 + word.count > width {
            lines.append(line)
            line = ""
        }
        line += (line.isEmpty ? "" : " ") + word
    }
    return lines + [line]
}

/// Levenshtein distance, for "did you mean".
private func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var previous = Array(0...b.count)
    for i in a.indices {
        var current = [i + 1] + Array(repeating: 0, count: b.count)
        for j in b.indices {
            let substitution = previous[j] + (a[i] == b[j] ? 0 : 1)
            current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, substitution)
        }
        previous = current
    }
    return previous[b.count]
}
