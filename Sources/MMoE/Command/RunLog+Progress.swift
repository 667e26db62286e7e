import Foundation

/// How far a run has come: the wall time since training started and an estimate of the time left,
/// appended to each step line after OneFlow's fields (`..., <time>, Elapsed 12 s, ETA 1:05`), so
/// scripts that read those fields keep working.
public struct RunProgress: Sendable {
    /// The first step this process trains (after a resumed checkpoint's step) and the last.
    public let firstStep: Int, lastStep: Int
    let start: UInt64

    public init(firstStep: Int, lastStep: Int, start: UInt64 = DispatchTime.now().uptimeNanoseconds) {
        self.firstStep = firstStep
        self.lastStep = lastStep
        self.start = start
    }

    /// Seconds since `start`.
    public func elapsed(now: UInt64 = DispatchTime.now().uptimeNanoseconds) -> Double {
        Double(now - start) / 1e9
    }

    /// `Elapsed 12 s, ETA 1:05` after `step`: the time left is the mean wall time of the steps so
    /// far (evaluations included) times the steps left.
    public func text(step: Int, elapsed: Double) -> String {
        let done = max(1, step - firstStep + 1), left = max(0, lastStep - step)
        let eta = elapsed / Double(done) * Double(left)
        return "Elapsed \(elapsed < 60 ? "\(Int(elapsed)) s" : Self.clock(elapsed)), ETA \(Self.clock(eta))"
    }

    /// The step line's suffix, starting with the comma that separates it from OneFlow's fields.
    public func suffix(step: Int) -> String { ", " + text(step: step, elapsed: elapsed()) }

    /// The line printed when no step line has been printed for a while (`--loss_print_interval`
    /// longer than ~10 s of training): `Progress: step 120 of 16000, Elapsed 12 s, ETA 26:30`.
    public func line(step: Int) -> String {
        "Progress: step \(step) of \(lastStep), " + text(step: step, elapsed: elapsed())
    }

    /// `m:ss`, or `h:mm:ss` from an hour on (rounded to the second).
    public static func clock(_ seconds: Double) -> String {
        let s = seconds.isFinite ? max(0, Int(seconds.rounded())) : 0
        let h = s / 3600, m = (s / 60) % 60, sec = s % 60
        return h > 0 ? String(format: "%ld:%02ld:%02ld", h, m, sec) : String(format: "%ld:%02ld", m, sec)
    }
}
