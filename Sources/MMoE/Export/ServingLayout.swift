import Datasets

/// How a saved model's inputs are laid out for serving: which sparse fields take one id
/// (`sparse_ids` columns) and which take a bag of ids (`tag_ids` rows), in the model's field order
/// within each, and the dense width. The exported graph and `--emit_inputs` both follow it.
///
/// Which fields are bags is a property of the data: Taobao's `tag_category_list` and
/// `tag_brand_list` (`Taobao.bagFieldNames`), a schema's `tags` features; Census and the synthetic
/// data have none.
public struct ServingLayout: Sendable, Equatable {
    /// Every sparse field's name, in the model's (fused-table) order.
    public let fieldNames: [String]
    /// Indices into `fieldNames` of the fields with exactly one id per row: `sparse_ids[:, j]` is
    /// field `singleFields[j]`.
    public let singleFields: [Int]
    /// Indices into `fieldNames` of the multi-valued fields: `tag_ids[:, j, :]` is field `bagFields[j]`.
    public let bagFields: [Int]
    /// Dd: `dense` columns.
    public let denseWidth: Int
    /// Whether the graph takes each value's raw 64-bit key (`sparse_keys`, `tag_keys`, the key's bit
    /// pattern as int64) instead of its fused-table row: a model whose rows a dynamic embedding
    /// store (`--ev`) holds by key.
    public var keyed = false

    public init(fieldNames: [String], bagFieldNames: Set<String>, denseWidth: Int) {
        self.fieldNames = fieldNames
        singleFields = fieldNames.indices.filter { !bagFieldNames.contains(fieldNames[$0]) }
        bagFields = fieldNames.indices.filter { bagFieldNames.contains(fieldNames[$0]) }
        self.denseWidth = denseWidth
    }

    /// The layout of a checkpoint's model.
    public init(_ manifest: CheckpointManifest) {
        let bags: Set<String>
        switch manifest.encoding {
        case .taobao: bags = Set(Taobao.bagFieldNames)
        case .schema(let schema): bags = Set(schema.features.filter { $0.kind == .tags }.map(\.name))
        case .census, .none: bags = []
        }
        self.init(fieldNames: manifest.config.fieldNames, bagFieldNames: bags, denseWidth: manifest.config.denseWidth)
    }

    /// The graph input names, in graph order: `sparse_ids` (when some field takes one id), `tag_ids`
    /// (when some field is a bag), `dense` (when the model has dense features).
    public var inputNames: [String] {
        (singleFields.isEmpty ? [] : [sparseName]) + (bagFields.isEmpty ? [] : [tagName]) + (denseWidth == 0 ? [] : ["dense"])
    }

    /// `sparse_ids`, or `sparse_keys` when `keyed`.
    public var sparseName: String { keyed ? "sparse_keys" : "sparse_ids" }
    /// `tag_ids`, or `tag_keys` when `keyed`.
    public var tagName: String { keyed ? "tag_keys" : "tag_ids" }
}
