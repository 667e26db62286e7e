import Foundation

/// Memory figures of this process, from Linux's /proc (nil where unavailable).
public enum ProcessMemory {
    /// Peak resident set size in MiB (VmHWM): what `/usr/bin/time -v` reports as maximum RSS.
    public static func peakResidentMB() -> Double? { statusField("VmHWM:") }

    /// Current resident set size in MiB (VmRSS).
    public static func residentMB() -> Double? { statusField("VmRSS:") }

    private static func statusField(_ key: String) -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(key) {
            let kb = line.dropFirst(key.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Double($0) }
            return kb.map { $0 / 1024 }
        }
        return nil
    }
}
