import Tensor
import Datasets

extension MMoEConfig {
    /// The field combiners a schema asks for, in its table order (sparse and tags features):
    /// a tags feature's `combiner`, a sparse feature's mean (it is one row either way). nil when
    /// every field is mean-combined, the default `fieldCombiners` stands for.
    public static func fieldCombiners(of schema: DataSchema) -> [EmbeddingCombiner]? {
        let combiners = schema.fieldFeatures.map { f -> EmbeddingCombiner in f.kind == .tags && f.combiner == .sum ? .sum : .mean }
        return combiners.contains(.sum) ? combiners : nil
    }
}
