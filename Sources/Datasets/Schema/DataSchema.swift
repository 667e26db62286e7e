/// A user's own delimited text file described as features and tasks: which columns are dense
/// numbers, hashed categories or tag lists, and which are labels. `mmoe-train --schema FILE` reads
/// it from JSON (`DataSchema(json:file:)`); the trained model keeps it, with the dense transforms
/// fitted on the training file, so `mmoe-predict` encodes new rows the same way.
///
/// Columns are found by header name (`column`, default the feature's `name`) or, with
/// `header: false`, by 0-based `index`. Sparse and tag values are hashed with `FieldHash` (field =
/// the index among the sparse and tag features, in schema order) into `buckets` rows of their
/// field; the fused table lays those fields out back to back in that order.
public struct DataSchema: Sendable, Equatable {
    /// The field separator: one ASCII character (`,` `\t` `;` `|` ...).
    public var delimiter: UInt8 = UInt8(ascii: ",")
    /// Whether the first record of every file names the columns.
    public var header = true
    /// The quote character of RFC 4180 quoting (`"`).
    public var quote: UInt8 = UInt8(ascii: "\"")
    /// Whether spaces around a value (and around each tag) are dropped, as a spreadsheet reads
    /// `a, b`. `false` keeps them, as TensorFlow's CSV decoder does (the built-in Taobao schema):
    /// ` 7` is then another value than `7`, and not a number.
    public var trim = true
    /// `header: false` only: the names of the file's columns, in order. Features and tasks then
    /// find their columns by name as with a header, messages name the column, and every record
    /// must have exactly this many fields (the built-in Census schema lists its 42).
    public var names: [String]?
    public var features: [SchemaFeature]
    public var tasks: [SchemaTask]

    public init(delimiter: UInt8 = UInt8(ascii: ","), header: Bool = true, features: [SchemaFeature], tasks: [SchemaTask]) {
        self.delimiter = delimiter
        self.header = header
        self.features = features
        self.tasks = tasks
    }

    /// The dense features, in input order.
    public var denseFeatures: [SchemaFeature] { features.filter { $0.kind == .dense } }
    /// The sparse and tag features: the embedding fields, in table order.
    public var fieldFeatures: [SchemaFeature] { features.filter { $0.kind != .dense } }
    /// The task names, in label order.
    public var taskNames: [String] { tasks.map(\.name) }
    /// Whether any field is a bag of several ids (a `tags` feature).
    public var hasBags: Bool { features.contains { $0.kind == .tags } }

    /// The fused-table layout: each sparse or tag field owns `buckets` rows.
    /// A `"vocabulary": "fit"` field owns `max(buckets, values.count) + 1` rows, the last for
    /// values unseen in training.
    public var featureSchema: FeatureSchema {
        FeatureSchema(denseNames: denseFeatures.map(\.name), fieldNames: fieldFeatures.map(\.name),
                      fieldRows: fieldFeatures.map(\.tableRows))
    }

    /// Whether every dense transform that needs statistics has them, and every fitted vocabulary
    /// its values (see `SchemaScan`).
    public var isFitted: Bool {
        features.allSatisfy { f in
            f.kind == .dense ? (f.transform.needsStatistics == false || f.statistics != nil) : (f.vocabulary != .fit || f.values != nil)
        }
    }

    /// Whether any sparse feature has a fitted vocabulary (`"vocabulary": "fit"`).
    public var fitsVocabularies: Bool { features.contains { $0.vocabulary == .fit } }
    /// Whether any sparse feature's value is its own row (`"vocabulary": "identity"`).
    public var hasIdentityFields: Bool { features.contains { $0.vocabulary == .identity } }
    /// Whether any dense feature's `minmax` is clipped (`"clip": true`).
    public var clipsDense: Bool { features.contains { $0.kind == .dense && $0.clip } }
}

/// One input of the model, read from one column.
public struct SchemaFeature: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// A number, optionally transformed.
        case dense
        /// Any string, hashed into `buckets` rows.
        case sparse
        /// `separator`-joined values, each hashed; their rows are combined into one vector.
        case tags
    }

    /// What a dense feature's value goes through before it reaches the model.
    public enum Transform: String, Sendable, CaseIterable {
        case none, log1p, standardize, minmax
        var needsStatistics: Bool { self == .standardize || self == .minmax }
    }

    /// How a sparse feature's values become rows: hashed into `buckets` rows (`hash`, the default),
    /// looked up in a vocabulary of the training values in first-seen order (`fit`), with one
    /// more row for values unseen in training (as the built-in Census reader encodes), or the
    /// value is an integer that is its own row in [0, buckets) (`identity`, TensorFlow's
    /// `categorical_column_with_identity`: Taobao's price level); outside that range it is an error,
    /// or with `clip` the nearest row.
    public enum Vocabulary: String, Sendable, CaseIterable {
        case hash, fit, identity
    }

    /// How a tags feature's rows become one vector (`mean` as TensorFlow's default combiner).
    public enum Combiner: String, Sendable, CaseIterable {
        case mean, sum
    }

    /// The statistics a `standardize` or `minmax` transform was fitted with: the value becomes
    /// `(x - shift) / scale` (standardize: the mean and the standard deviation; minmax: the
    /// minimum and the range).
    public struct Statistics: Sendable, Equatable {
        public var shift: Double, scale: Double
        public init(shift: Double, scale: Double) { self.shift = shift; self.scale = scale }
    }

    public var name: String
    public var kind: Kind
    /// The header name of the column; nil = `name`. Ignored when `index` is given.
    public var column: String?
    /// The 0-based column, for files without a header (or to pick a column by place).
    public var index: Int?
    public var transform: Transform = .none
    /// The raw value of an empty dense cell (transformed like any other value).
    public var defaultValue: Double = 0
    /// Dense only: an empty cell is an error instead of `defaultValue` (the built-in Census
    /// reader refuses missing numbers).
    public var required = false
    /// Rows of a sparse or tags field's embedding table.
    public var buckets: Int = 0
    /// The separator between a tags feature's values.
    public var separator: UInt8 = UInt8(ascii: "|")
    public var combiner: Combiner = .mean
    /// Fitted on the training file (nil until then, or for transforms without statistics).
    public var statistics: Statistics?
    /// `minmax` only: clip the scaled value to [0, 1], and map every value of a feature that was
    /// constant in training to 0 (the built-in Census scaling). The raw value is rounded to a
    /// Float before it is scaled. `"vocabulary": "identity"`: an integer outside [0, buckets)
    /// takes the nearest row instead of stopping the read (`--clamp_price` for Taobao).
    public var clip = false
    /// Sparse only: hashed (default) or a vocabulary fitted on the training files.
    public var vocabulary: Vocabulary = .hash
    /// `"vocabulary": "fit"`: the distinct training values in row order (first seen first); nil
    /// until fitted.
    public var values: [String]?

    public init(name: String, kind: Kind, column: String? = nil, index: Int? = nil, transform: Transform = .none,
                defaultValue: Double = 0, buckets: Int = 0, separator: UInt8 = UInt8(ascii: "|"), combiner: Combiner = .mean,
                statistics: Statistics? = nil) {
        self.name = name
        self.kind = kind
        self.column = column
        self.index = index
        self.transform = transform
        self.defaultValue = defaultValue
        self.buckets = buckets
        self.separator = separator
        self.combiner = combiner
        self.statistics = statistics
    }

    /// The header name the feature reads.
    public var columnName: String { column ?? name }

    /// Rows of the field's table: `buckets`, or for a fitted vocabulary `max(buckets, values) + 1`
    /// (`buckets` is then the capacity asked for, which grows to the values seen, plus the row of
    /// unseen values).
    public var tableRows: Int { vocabulary == .fit ? max(buckets, values?.count ?? 0) + 1 : buckets }
}

extension SchemaFeature.Statistics {
    /// A clipped `minmax` of the raw Float `raw` (the built-in Census scaling): `(raw - shift) /
    /// scale` clipped to [0, 1] in Double, and 0 when the training range was one value (scale 0).
    @inline(__always) public func clipped(_ raw: Float) -> Float {
        guard scale > 0 else { return 0 }
        return Float(min(max((Double(raw) - shift) / scale, 0), 1))
    }
}

/// One label column the model learns to predict.
public struct SchemaTask: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Labels 0/1 (`true`/`false`, or the strings in `positive` count as 1).
        case binary
        /// Labels are numbers (MSE loss).
        case regression
    }

    public var name: String
    /// The header name of the label column; nil = `name`.
    public var column: String?
    /// The 0-based column, for files without a header.
    public var index: Int?
    public var type: Kind = .binary
    /// Multiplies the task's loss.
    public var weight: Double = 1
    /// The name of a binary task: this task's loss and metrics count only rows whose label there is 1.
    public var condition: String?
    /// Binary tasks: the strings that count as 1 (every other non-empty string is 0); nil = `0`/`1`/`true`/`false`.
    public var positive: [String]?
    /// With `positive`: the strings that count as 0; any other non-empty label is then an error
    /// instead of a 0 (the built-in Census reader accepts only its two income labels).
    public var negative: [String]?
    /// An empty label cell is an error instead of a missing label (Taobao's labels are all there).
    public var required = false

    public init(name: String, column: String? = nil, index: Int? = nil, type: Kind = .binary, weight: Double = 1,
                condition: String? = nil, positive: [String]? = nil, negative: [String]? = nil) {
        self.name = name
        self.column = column
        self.index = index
        self.type = type
        self.weight = weight
        self.condition = condition
        self.positive = positive
        self.negative = negative
    }

    /// The header name of the label column.
    public var columnName: String { column ?? name }
}
