import Foundation

/// Joining and leaving a distributed job, for the executables.
public enum DistributedRun {
    /// The job's communicator when this process was started as one of several ranks and the
    /// build has MPI; nil otherwise (one process: nothing to join). Check
    /// `LaunchEnvironment.refusal()` first.
    public static func join() -> (any Communicator)? {
        #if MPI
        if let n = LaunchEnvironment.worldSize(), n > 1 { return MPICommunicator() }
        #endif
        return nil
    }

    /// Leaves the job after a successful run (every rank calls it).
    public static func finish(_ communicator: (any Communicator)?) {
        #if MPI
        (communicator as? MPICommunicator)?.finalize()
        #endif
    }
}
