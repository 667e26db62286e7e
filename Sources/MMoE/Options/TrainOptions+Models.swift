/// The checks of the model-choice, task-type and synthetic-data flags: a flag that sizes a part the
/// chosen network does not have, or describes data the run does not use, is refused rather than
/// silently ignored.
extension TrainOptions {
    /// The synthetic generator's flags, as written on the command line.
    static let syntheticFlags = ["synthetic_dim", "synthetic_scale", "synthetic_sin_terms", "synthetic_alpha_beta_std", "synthetic_noise"]

    /// Flags that size a part `--model` does not have; `--task_types` against `--num_tasks`.
    public func checkModelFlags() throws(OptionsError) {
        func given(_ name: String) -> Bool { explicitFlags.contains(name) }
        let m = "--model \(model.rawValue)"
        if model != .ple {
            for flag in ["ple_levels", "task_experts", "shared_experts"] where given(flag) {
                throw OptionsError("--\(flag) sizes PLE's experts; it does not apply to \(m) (pass --model ple)")
            }
        }
        if !model.hasBottom && given("bottom_dnn") {
            throw OptionsError("--bottom_dnn sizes the bottom MLP of shared_bottom and single_task; \(m) has none")
        }
        if !model.hasExpertBank && given("num_experts") {
            let hint = model == .ple ? " (ple counts its experts with --task_experts and --shared_experts)" : ""
            throw OptionsError("--num_experts sizes the expert bank of mmoe and omoe; \(m) has none\(hint)")
        }
        if !model.hasGates && given("gate_dnn") {
            throw OptionsError("--gate_dnn sizes the gates of mmoe, omoe and ple; \(m) has none")
        }
        if !model.hasExpertBank && given("gate_init") {
            throw OptionsError("--gate_init sets the start of the gates of mmoe and omoe; \(m) has none")
        }
        if model == .simpleMultitask && given("expert_dnn") {
            throw OptionsError("--expert_dnn sizes experts; \(m) has none (its towers are sized by --tower_dnn)")
        }
        if model.hasBottom && given("expert_dnn") && given("bottom_dnn") {
            throw OptionsError("--expert_dnn only gives the default of --bottom_dnn for \(m); give one of them")
        }
        if !taskTypes.isEmpty && taskTypes.count != numTasks && schema == nil {
            throw OptionsError("--task_types has \(taskTypes.count) entries for \(numTasks) tasks (--num_tasks); give one per task")
        }
    }

    /// Flags that only the synthetic data can act on, refused for `kind`'s files.
    public func checkDataFlags(for kind: DatasetKind) throws(OptionsError) {
        guard kind != .synthetic else { return }
        for flag in Self.syntheticFlags where explicitFlags.contains(flag) {
            throw OptionsError("--\(flag) shapes the built-in synthetic data; it does not apply to the \(kind.rawValue) data")
        }
        if kind != .schema, let t = taskTypes.firstIndex(of: .regression) {
            throw OptionsError("--task_types: task \(t + 1) is regression, but the \(kind.rawValue) labels are binary (0/1); regression tasks need the synthetic data or your own data (--schema)")
        }
    }
}
