extension TrainCommand {
    /// The network part of the "Model:" line, up to the towers: what `config.kind` builds and how big.
    static func networkDescription(_ c: MMoEConfig) -> String {
        switch c.kind {
        case .mmoe: return "\(c.numExperts) experts \(c.expertDNN), gates \(c.gateDNN), "
        case .omoe: return "\(c.numExperts) experts \(c.expertDNN), one gate \(c.gateDNN), "
        case .sharedBottom: return "shared bottom \(c.resolvedBottomDNN), "
        case .singleTask: return "one bottom \(c.resolvedBottomDNN) per task, "
        case .ple:
            return "\(c.pleLevels) levels of \(c.taskExperts) experts per task + \(c.sharedExperts) shared \(c.expertDNN), gates \(c.gateDNN), "
        case .simpleMultitask: return ""
        }
    }
}
