import Foundation

extension PredictCommand {
    /// `--emit_inputs`: an empty `ServingInputs` for the checkpoint's layout (keyed for a dynamic
    /// store's model); refused for the stores `mmoe-export` cannot export yet.
    static func servingInputs(_ manifest: CheckpointManifest, store: EmbeddingStore?, directory: String) throws -> ServingInputs {
        var layout = ServingLayout(manifest)
        if let store {
            guard store.kind == .fixed || store.kind == .dynamic else {
                throw UsageError("--emit_inputs \(directory): the model's rows live in a \(store.kind.rawValue) embedding store, "
                                 + "whose export to ONNX is not supported yet")
            }
            layout.keyed = store.kind == .dynamic
        }
        return ServingInputs(layout: layout)
    }
}
