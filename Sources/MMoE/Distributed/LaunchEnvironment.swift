import Foundation

/// What the launcher (`mpirun`, a PMI-based launcher) tells a process through its environment:
/// how many ranks the job has. Read before MPI is initialised, to refuse a launch the build cannot
/// serve (several ranks of a binary built without the `MPI` trait would train N unrelated copies).
public enum LaunchEnvironment {
    /// The job's rank count as the launcher's environment gives it (Open MPI's
    /// `OMPI_COMM_WORLD_SIZE`, else `PMI_SIZE` from MPICH / Slurm / Hydra); nil when started alone.
    public static func worldSize(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Int? {
        for key in ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"] {
            if let text = environment[key], let n = Int(text) { return n }
        }
        return nil
    }

    /// Whether this binary was built with MPI (the `MPI` package trait).
    public static var mpiBuilt: Bool {
        #if MPI
        return true
        #else
        return false
        #endif
    }

    /// The message for a launch of several ranks that this build cannot join, or nil when the
    /// launch is fine (one process, or an MPI build).
    public static func refusal(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        guard !mpiBuilt, let n = worldSize(environment), n > 1 else { return nil }
        return "started as one of \(n) ranks (mpirun -np \(n)), but this binary was built without MPI, so each rank would train "
            + "its own copy; rebuild with `swift build -c release --traits MPI` (needs Open MPI: apt-get install libopenmpi-dev openmpi-bin), "
            + "or run one process"
    }
}
