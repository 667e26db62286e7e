/// DeepRec's `--optimizer` choices.
public enum OptimizerKind: String, Sendable, CaseIterable { case adam, adamasync, adagrad, adagraddecay, gradientdescent }
