import Foundation

extension PredictCommand {
    /// `--emit_inputs`: an empty `ServingInputs` for the checkpoint's layout; refused for a model
    /// whose rows live in an embedding store, which `mmoe-export` cannot export yet.
    static func servingInputs(_ manifest: CheckpointManifest, store: EmbeddingStore?, directory: String) throws -> ServingInputs {
        if store != nil {
            throw UsageError("--emit_inputs \(directory): the model's embedding rows live in an embedding store (--ev, --store_type), "
                             + "whose export to ONNX is not supported yet")
        }
        return ServingInputs(layout: ServingLayout(manifest))
    }
}
