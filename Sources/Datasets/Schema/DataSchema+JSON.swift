import Foundation

/// Reading a schema from JSON, with one clear message for each mistake (the file and the key
/// path, such as `features[2].kind`), and writing one back (for the model's manifest and for
/// `--infer_schema`), one feature or task per line.
extension DataSchema {
    static let topKeys: Set<String> = ["delimiter", "header", "quote", "trim", "names", "features", "tasks"]
    static let featureKeys: Set<String> = ["name", "kind", "column", "index", "transform", "default", "buckets",
                                           "separator", "combiner", "mean", "std", "min", "max",
                                           "clip", "vocabulary", "values", "required"]
    static let taskKeys: Set<String> = ["name", "column", "index", "type", "weight", "condition", "positive", "negative", "required"]

    /// The schema in the JSON file at `path`.
    public init(contentsOf path: String) throws(DatasetError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DatasetError(file: path, "cannot read the schema file")
        }
        try self.init(json: data, file: path)
    }

    /// The schema in `json`; `file` names it in errors.
    public init(json: Data, file: String) throws(DatasetError) {
        func fail(_ place: String?, _ message: String) -> DatasetError { DatasetError(file: file, field: place, message) }
        let value: JSONValue
        do { value = try JSONDecoder().decode(JSONValue.self, from: json) } catch {
            var detail = "\(error)"
            if case DecodingError.dataCorrupted(let context) = error {
                detail = (context.underlyingError.map { "\($0)" } ?? context.debugDescription)
            }
            throw fail(nil, "not valid JSON: \(detail)")
        }
        guard case .object(let top) = value else { throw fail(nil, "the schema must be a JSON object with \"features\" and \"tasks\"") }
        try Self.checkKeys(top, Self.topKeys, place: nil, file: file)
        let reader = JSONFields(object: top, place: nil, file: file)
        let delimiter = try reader.character("delimiter") ?? UInt8(ascii: ",")
        let header = try reader.bool("header") ?? true
        let quote = try reader.character("quote") ?? UInt8(ascii: "\"")
        let trim = try reader.bool("trim") ?? true
        let names = try reader.strings("names", what: "the names of the file's columns, in order")
        guard case .array(let featureList)? = top["features"] else { throw fail("features", "missing, or not a list of features") }
        guard case .array(let taskList)? = top["tasks"] else { throw fail("tasks", "missing, or not a list of tasks") }
        guard !taskList.isEmpty else { throw fail("tasks", "the list is empty; a model needs at least one task") }
        guard !featureList.isEmpty else { throw fail("features", "the list is empty; a model needs at least one input") }
        var features: [SchemaFeature] = []
        for (i, item) in featureList.enumerated() {
            let place = "features[\(i)]"
            guard case .object(let entry) = item else { throw fail(place, "not a JSON object") }
            try Self.checkKeys(entry, Self.featureKeys, place: place, file: file)
            let f = JSONFields(object: entry, place: place, file: file)
            guard let name = try f.string("name"), !name.isEmpty else { throw fail(place, "needs a non-empty \"name\"") }
            let kindText = try f.string("kind") ?? ""
            guard let kind = SchemaFeature.Kind(rawValue: kindText) else {
                throw fail("\(place).kind", "\"\(kindText)\" is not a feature kind; expected dense, sparse or tags")
            }
            var feature = SchemaFeature(name: name, kind: kind, column: try f.string("column"), index: try f.integer("index", minimum: 0))
            if kind == .dense {
                let t = try f.string("transform") ?? "none"
                guard let transform = SchemaFeature.Transform(rawValue: t) else {
                    throw fail("\(place).transform", "\"\(t)\" is not a transform; expected none, log1p, standardize or minmax")
                }
                feature.transform = transform
                feature.defaultValue = try f.number("default") ?? 0
                feature.required = try f.bool("required") ?? false
                if feature.required && entry["default"] != nil {
                    throw fail("\(place).required", "a required feature has no default; give one or the other")
                }
                for key in ["buckets", "separator", "combiner", "vocabulary", "values"] where entry[key] != nil {
                    throw fail("\(place).\(key)", "applies to sparse and tags features, not dense ones")
                }
                feature.clip = try f.bool("clip") ?? false
                if feature.clip && transform != .minmax {
                    throw fail("\(place).clip", "applies to the minmax transform only")
                }
                let mean = try f.number("mean"), std = try f.number("std"), low = try f.number("min"), high = try f.number("max")
                switch transform {
                case .standardize:
                    if let mean, let std { feature.statistics = .init(shift: mean, scale: std > 0 ? std : 1) }
                case .minmax:
                    if let low, let high {
                        if feature.clip && high < low { throw fail("\(place).max", "\(high) is below min \(low)") }
                        feature.statistics = .init(shift: low, scale: high > low ? high - low : feature.clip ? 0 : 1)
                    }
                case .none, .log1p:
                    break
                }
            } else {
                for key in ["transform", "default", "mean", "std", "min", "max", "required"] where entry[key] != nil {
                    throw fail("\(place).\(key)", "applies to dense features, not \(kind.rawValue) ones")
                }
                guard let buckets = try f.integer("buckets", minimum: 1) else {
                    throw fail("\(place).buckets", "a \(kind.rawValue) feature needs \"buckets\", the rows of its embedding table (a positive integer)")
                }
                feature.buckets = buckets
                if kind == .tags {
                    feature.separator = try f.character("separator") ?? UInt8(ascii: "|")
                    let c = try f.string("combiner") ?? "mean"
                    guard let combiner = SchemaFeature.Combiner(rawValue: c) else {
                        throw fail("\(place).combiner", "\"\(c)\" is not a combiner; expected mean or sum")
                    }
                    feature.combiner = combiner
                    for key in ["vocabulary", "values", "clip"] where entry[key] != nil {
                        throw fail("\(place).\(key)", key == "clip" ? "applies to dense minmax and sparse identity features, not tags ones"
                                   : "applies to sparse features, not tags ones")
                    }
                } else {
                    for key in ["separator", "combiner"] where entry[key] != nil {
                        throw fail("\(place).\(key)", "applies to tags features, not sparse ones")
                    }
                    let v = try f.string("vocabulary") ?? "hash"
                    guard let vocabulary = SchemaFeature.Vocabulary(rawValue: v) else {
                        throw fail("\(place).vocabulary", "\"\(v)\" is not a vocabulary; expected hash, fit or identity")
                    }
                    feature.vocabulary = vocabulary
                    feature.clip = try f.bool("clip") ?? false
                    if feature.clip && vocabulary != .identity {
                        throw fail("\(place).clip", "applies to dense minmax and sparse identity features (\"vocabulary\": \"identity\"), not hashed or fitted ones")
                    }
                    if let values = entry["values"] {
                        guard vocabulary == .fit else { throw fail("\(place).values", "applies to \"vocabulary\": \"fit\" only") }
                        guard case .array(let list) = values else { throw fail("\(place).values", "must be a list of strings, the fitted values in row order") }
                        feature.values = try list.map { (item: JSONValue) throws(DatasetError) -> String in
                            guard case .string(let text) = item else {
                                throw fail("\(place).values", "must be a list of strings, the fitted values in row order")
                            }
                            return text
                        }
                        _ = try SchemaVocabulary.table(feature.values!, field: features.filter { $0.kind != .dense }.count, file: file, place: "\(place).values")
                    }
                }
            }
            features.append(feature)
        }
        var tasks: [SchemaTask] = []
        for (i, item) in taskList.enumerated() {
            let place = "tasks[\(i)]"
            guard case .object(let entry) = item else { throw fail(place, "not a JSON object") }
            try Self.checkKeys(entry, Self.taskKeys, place: place, file: file)
            let f = JSONFields(object: entry, place: place, file: file)
            guard let name = try f.string("name"), !name.isEmpty else { throw fail(place, "needs a non-empty \"name\"") }
            let typeText = try f.string("type") ?? "binary"
            guard let type = SchemaTask.Kind(rawValue: typeText) else {
                throw fail("\(place).type", "\"\(typeText)\" is not a task type; expected binary or regression")
            }
            let weight = try f.number("weight") ?? 1
            guard weight >= 0 else { throw fail("\(place).weight", "\(weight) is negative; a task weight is 0 or more") }
            var task = SchemaTask(name: name, column: try f.string("column"), index: try f.integer("index", minimum: 0),
                                  type: type, weight: weight, condition: try f.string("condition"))
            if entry["positive"] != nil {
                guard type == .binary else { throw fail("\(place).positive", "applies to binary tasks, not regression ones") }
                task.positive = try f.strings("positive", what: "the label values that count as 1")
            }
            task.required = try f.bool("required") ?? false
            if entry["negative"] != nil {
                guard task.positive != nil else { throw fail("\(place).negative", "applies with \"positive\" only (the label values that count as 0)") }
                task.negative = try f.strings("negative", what: "the label values that count as 0")
                if let both = task.negative!.first(where: { task.positive!.contains($0) }) {
                    throw fail("\(place).negative", "\(JSONText.quoted(both)) is listed as positive and as negative")
                }
            }
            tasks.append(task)
        }
        self.init(delimiter: delimiter, header: header, features: features, tasks: tasks)
        self.quote = quote
        self.trim = trim
        self.names = names
        try validate(file: file)
    }

    /// Checks that hold across entries: distinct names, conditions naming binary tasks, columns
    /// given by index when there is no header, a quote that is not the delimiter.
    public func validate(file: String) throws(DatasetError) {
        func fail(_ place: String?, _ message: String) -> DatasetError { DatasetError(file: file, field: place, message) }
        guard quote != delimiter else { throw fail("quote", "the quote character cannot also be the delimiter") }
        for byte in [delimiter, quote] where byte == 0x0A || byte == 0x0D {
            throw fail("delimiter", "a line break cannot separate fields or quote them")
        }
        if let names {
            guard !header else { throw fail("names", "names the columns of a file without a header; this schema has \"header\": true") }
            guard !names.isEmpty else { throw fail("names", "the list is empty") }
            var columns = Set<String>()
            for name in names where !columns.insert(name).inserted { throw fail("names", "\(JSONText.quoted(name)) names two columns") }
            for (i, f) in features.enumerated() where f.index == nil && !columns.contains(f.columnName) {
                throw fail("features[\(i)]", "reads column \(JSONText.quoted(f.columnName)), which \"names\" does not list")
            }
            for (i, t) in tasks.enumerated() where t.index == nil && !columns.contains(t.columnName) {
                throw fail("tasks[\(i)]", "reads column \(JSONText.quoted(t.columnName)), which \"names\" does not list")
            }
            for (i, x) in (features.map(\.index) + tasks.map(\.index)).enumerated() {
                if let x, x >= names.count {
                    throw fail(i < features.count ? "features[\(i)].index" : "tasks[\(i - features.count)].index",
                               "\(x) is past the \(names.count) columns \"names\" lists")
                }
            }
        }
        let byName = names != nil
        var seen = Set<String>()
        for (i, f) in features.enumerated() {
            guard seen.insert(f.name).inserted else { throw fail("features[\(i)].name", "\"\(f.name)\" names two features") }
            if !header && !byName && f.index == nil { throw fail("features[\(i)]", "\"header\": false, so the feature needs an \"index\" (0-based column)") }
            if f.kind == .tags && (f.separator == delimiter || f.separator == quote) {
                throw fail("features[\(i)].separator", "the tag separator cannot be the delimiter or the quote character")
            }
        }
        // Ids are Int32 rows of one fused table: every field's rows must fit in it.
        let rows = fieldFeatures.reduce(0) { $0 + $1.tableRows }
        guard rows <= Int(Int32.max) else {
            throw fail("features", "the sparse and tags fields have \(rows) rows in all, more than the 2,147,483,647 one table addresses; lower their \"buckets\"")
        }
        var taskNames = Set<String>()
        for (i, t) in tasks.enumerated() {
            guard taskNames.insert(t.name).inserted else { throw fail("tasks[\(i)].name", "\"\(t.name)\" names two tasks") }
            if !header && !byName && t.index == nil { throw fail("tasks[\(i)]", "\"header\": false, so the task needs an \"index\" (0-based column)") }
        }
        for (i, t) in tasks.enumerated() {
            guard let c = t.condition else { continue }
            guard let target = tasks.first(where: { $0.name == c }) else {
                throw fail("tasks[\(i)].condition", "\"\(c)\" is not a task of this schema; a condition names a binary task")
            }
            guard target.type == .binary, target.name != t.name else {
                throw fail("tasks[\(i)].condition", "\"\(c)\" must be another task, and binary")
            }
        }
    }

    private static func checkKeys(_ object: [String: JSONValue], _ known: Set<String>, place: String?, file: String) throws(DatasetError) {
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw DatasetError(file: file, field: place.map { "\($0).\(unknown)" } ?? unknown,
                               "unknown key; expected one of " + known.sorted().joined(separator: ", "))
        }
    }

    /// The schema as JSON: what `--infer_schema` prints and the model's manifest keeps (fitted
    /// statistics included), one feature or task per line. `DataSchema(json:)` reads it back.
    public var json: String {
        var lines = ["{", "  \"delimiter\": \(JSONText.quoted(String(UnicodeScalar(delimiter)))), \"header\": \(header)"
                     + (quote == UInt8(ascii: "\"") ? "" : ", \"quote\": \(JSONText.quoted(String(UnicodeScalar(quote))))")
                     + (trim ? "" : ", \"trim\": false")
                     + (names.map { ", \"names\": [" + $0.map(JSONText.quoted).joined(separator: ", ") + "]" } ?? "") + ",",
                     "  \"features\": ["]
        for (i, f) in features.enumerated() {
            var parts = ["\"name\": \(JSONText.quoted(f.name))", "\"kind\": \"\(f.kind.rawValue)\""]
            if let c = f.column { parts.append("\"column\": \(JSONText.quoted(c))") }
            if let x = f.index { parts.append("\"index\": \(x)") }
            switch f.kind {
            case .dense:
                if f.transform != .none { parts.append("\"transform\": \"\(f.transform.rawValue)\"") }
                if f.defaultValue != 0 { parts.append("\"default\": \(Self.number(f.defaultValue))") }
                if f.required { parts.append("\"required\": true") }
                if let s = f.statistics {
                    if f.transform == .standardize { parts += ["\"mean\": \(Self.number(s.shift))", "\"std\": \(Self.number(s.scale))"] }
                    if f.transform == .minmax { parts += ["\"min\": \(Self.number(s.shift))", "\"max\": \(Self.number(s.shift + s.scale))"] }
                }
                if f.clip { parts.append("\"clip\": true") }
            case .sparse:
                parts.append("\"buckets\": \(f.buckets)")
                if f.vocabulary != .hash { parts.append("\"vocabulary\": \"\(f.vocabulary.rawValue)\"") }
                if f.clip { parts.append("\"clip\": true") }
                if f.vocabulary == .fit, let values = f.values {
                    parts.append("\"values\": [" + values.map(JSONText.quoted).joined(separator: ", ") + "]")
                }
            case .tags:
                parts += ["\"separator\": \(JSONText.quoted(String(UnicodeScalar(f.separator))))", "\"buckets\": \(f.buckets)",
                          "\"combiner\": \"\(f.combiner.rawValue)\""]
            }
            lines.append("    {" + parts.joined(separator: ", ") + "}" + (i + 1 < features.count ? "," : ""))
        }
        lines += ["  ],", "  \"tasks\": ["]
        for (i, t) in tasks.enumerated() {
            var parts = ["\"name\": \(JSONText.quoted(t.name))"]
            if let c = t.column { parts.append("\"column\": \(JSONText.quoted(c))") }
            if let x = t.index { parts.append("\"index\": \(x)") }
            parts.append("\"type\": \"\(t.type.rawValue)\"")
            if t.weight != 1 { parts.append("\"weight\": \(Self.number(t.weight))") }
            if let c = t.condition { parts.append("\"condition\": \(JSONText.quoted(c))") }
            if let p = t.positive { parts.append("\"positive\": [" + p.map(JSONText.quoted).joined(separator: ", ") + "]") }
            if let n = t.negative { parts.append("\"negative\": [" + n.map(JSONText.quoted).joined(separator: ", ") + "]") }
            if t.required { parts.append("\"required\": true") }
            lines.append("    {" + parts.joined(separator: ", ") + "}" + (i + 1 < tasks.count ? "," : ""))
        }
        lines += ["  ]", "}"]
        return lines.joined(separator: "\n")
    }

    /// A finite Double as the shortest JSON number that reads back as the same value.
    static func number(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : "\(x)"
    }
}

/// Typed reads of one JSON object's entries, each error naming the key.
private struct JSONFields {
    let object: [String: JSONValue]
    let place: String?
    let file: String

    private func fail(_ key: String, _ message: String) -> DatasetError {
        DatasetError(file: file, field: place.map { "\($0).\(key)" } ?? key, message)
    }

    func string(_ key: String) throws(DatasetError) -> String? {
        guard let value = object[key] else { return nil }
        guard case .string(let text) = value else { throw fail(key, "must be a string") }
        return text
    }

    func bool(_ key: String) throws(DatasetError) -> Bool? {
        guard let value = object[key] else { return nil }
        guard case .bool(let flag) = value else { throw fail(key, "must be true or false") }
        return flag
    }

    func number(_ key: String) throws(DatasetError) -> Double? {
        guard let value = object[key] else { return nil }
        guard case .number(let x) = value, x.isFinite else { throw fail(key, "must be a number") }
        return x
    }

    func integer(_ key: String, minimum: Int) throws(DatasetError) -> Int? {
        guard let x = try number(key) else { return nil }
        guard x == x.rounded(), x >= Double(minimum), x < 1e12 else { throw fail(key, "must be an integer of at least \(minimum), got \(x)") }
        return Int(x)
    }

    /// A non-empty list of strings; `what` says what it holds, for the message.
    func strings(_ key: String, what: String) throws(DatasetError) -> [String]? {
        guard let value = object[key] else { return nil }
        guard case .array(let list) = value, !list.isEmpty else { throw fail(key, "must be a non-empty list of strings, \(what)") }
        return try list.map { (item: JSONValue) throws(DatasetError) -> String in
            guard case .string(let text) = item else { throw fail(key, "must be a non-empty list of strings, \(what)") }
            return text
        }
    }

    /// A one-character string (`"\t"` is a tab), as its ASCII byte.
    func character(_ key: String) throws(DatasetError) -> UInt8? {
        guard let text = try string(key) else { return nil }
        guard text.unicodeScalars.count == 1, let scalar = text.unicodeScalars.first, scalar.isASCII else {
            throw fail(key, "\(JSONText.quoted(text)) is not a single ASCII character")
        }
        return UInt8(scalar.value)
    }
}

/// Any JSON value, decoded strictly (a number is never a Bool, nor a Bool a number).
enum JSONValue: Decodable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let x = try? c.decode(Double.self) { self = .number(x) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }
}
