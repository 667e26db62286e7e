import Foundation
import Tensor

/// Shapes (M x K x N) the model multiplies: a 256-row batch through expert and tower layers, the
/// 3-way head (k = 128, and the gates' k = 127 of the 127 inputs, whose k tail is not a multiple of
/// 16), the gates' input gradient (k = 3 experts, NT), and a large square reference.
private let gemmBenchShapes: [(m: Int, k: Int, n: Int)] = [
    (256, 127, 256), (256, 256, 128), (256, 128, 256), (256, 128, 3), (256, 127, 3), (256, 3, 127), (1024, 1024, 1024),
]
private let gemmBenchVariants = ["NN", "NT", "TN"]

/// Seconds one timing sample should take: long enough to average out timer noise, short enough
/// that the whole table runs in seconds.
private let sampleSeconds = 0.02
private let samples = 7

/// Whether `now()` reads the calling thread's CPU time instead of the wall clock (`--cpu_time`).
nonisolated(unsafe) var gemmBenchThreadCPUTime = false

/// Seconds on the wall clock, or of the calling thread's CPU time with `--cpu_time`: on a machine
/// shared with other jobs, a thread's CPU time leaves out the time it waited for a core.
private func now() -> Double {
    if gemmBenchThreadCPUTime {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
    return Double(DispatchTime.now().uptimeNanoseconds) * 1e-9
}

/// GFLOP/s of `sgemm` on one shape: warm-up, then the median of `samples` samples of `reps` calls.
/// `variant` is NN, NT, TN or TT (A, then B; T = transposed). `bf16` rounds the inputs to bfloat16.
func measureOurs(m: Int, k: Int, n: Int, variant: String, threads: Int, bf16: Bool = false) -> Double {
    let transA = variant.hasPrefix("T"), transB = variant.hasSuffix("T")
    var rng = SeededRNG(seed: 1)
    let a = (0..<m * k).map { _ in rng.nextUniform() }
    let b = (0..<k * n).map { _ in rng.nextUniform() }
    var c = [Float](repeating: 0, count: m * n)
    let lda = transA ? m : k, ldb = transB ? k : n
    func call() {
        a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in c.withUnsafeMutableBufferPointer { c in
            sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: a.baseAddress!, lda: lda,
                  b: b.baseAddress!, ldb: ldb, beta: 0, c: c.baseAddress!, ldc: n, roundToBFloat16: bf16, threads: threads)
        } } }
    }
    call()
    var t = now()
    call()
    let once = max(now() - t, 1e-7)
    let reps = max(1, Int(sampleSeconds / once))
    var times: [Double] = []
    for _ in 0..<samples {
        t = now()
        for _ in 0..<reps { call() }
        times.append((now() - t) / Double(reps))
    }
    times.sort()
    return 2.0 * Double(m) * Double(n) * Double(k) / times[samples / 2] / 1e9
}

/// The numpy side, a long-lived `python3 Scripts/numpy_gemm.py` fed one shape per line so its
/// measurements interleave with ours under the same machine load.
private final class NumpyTimer {
    let process = Process()
    let input = Pipe(), output = Pipe()
    private var buffered = Data()
    private(set) var version = ""

    init?(threads: Int) {
        guard let script = NumpyTimer.locateScript() else {
            try? FileHandle.standardError.write(contentsOf: Data("mmoe-bench: --numpy: Scripts/numpy_gemm.py not found (run from the package root)\n".utf8))
            return nil
        }
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script]
        var env = ProcessInfo.processInfo.environment
        for key in ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"] { env[key] = String(threads) }
        process.environment = env
        process.standardInput = input
        process.standardOutput = output
        do { try process.run() } catch {
            try? FileHandle.standardError.write(contentsOf: Data("mmoe-bench: --numpy: cannot start python3: \(error)\n".utf8))
            return nil
        }
        guard let ready = readLine(), ready.hasPrefix("READY") else {
            try? FileHandle.standardError.write(contentsOf: Data("mmoe-bench: --numpy: python3 with numpy is needed for the comparison (is python3 installed, with numpy?)\n".utf8))
            return nil
        }
        version = String(ready.dropFirst("READY ".count))
    }

    /// Scripts/numpy_gemm.py relative to the current directory, else to the executable's ancestors
    /// (the binary lives in <package>/.build*/release/).
    static func locateScript() -> String? {
        let relative = "Scripts/numpy_gemm.py"
        let fm = FileManager.default
        if fm.fileExists(atPath: relative) { return relative }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = dir.appendingPathComponent(relative).path
            if fm.fileExists(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    private func readLine() -> String? {
        while true {
            if let nl = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffered[buffered.startIndex..<nl], as: UTF8.self)
                buffered = Data(buffered[(nl + 1)...])
                return line
            }
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { return nil }
            buffered.append(chunk)
        }
    }

    func measure(m: Int, k: Int, n: Int, variant: String) -> Double? {
        let clock = gemmBenchThreadCPUTime ? " cpu" : ""
        try? input.fileHandleForWriting.write(contentsOf: Data("\(m) \(k) \(n) \(variant) \(sampleSeconds)\(clock)\n".utf8))
        return readLine().flatMap(Double.init)
    }

    deinit {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}

/// `mmoe-bench gemm`: returns the exit status.
func benchGEMM(arguments: [String]) -> Int32 {
    var threads = 1, json = false, numpy = false, bf16 = false
    var shapes = gemmBenchShapes.map { (m: $0.m, k: $0.k, n: $0.n, variants: gemmBenchVariants) }
    var i = 0
    while i < arguments.count {
        switch arguments[i] {
        case "--threads":
            guard i + 1 < arguments.count, let t = Int(arguments[i + 1]), t >= 0 else { fail("gemm: --threads needs a count >= 0") }
            threads = t
            i += 1
        case "--json": json = true
        case "--numpy": numpy = true
        case "--bf16": bf16 = true
        case "--cpu_time": gemmBenchThreadCPUTime = true
        case "--shapes":
            // MxKxN[:VARIANT],...: other shapes than the model's (a shard's 128 rows, your model's
            // widths); a variant after a colon times that shape in that variant only.
            guard i + 1 < arguments.count else { fail("gemm: --shapes needs a list like 128x127x256,128x256x127:NT") }
            var list: [(m: Int, k: Int, n: Int, variants: [String])] = []
            for item in arguments[i + 1].split(separator: ",") {
                let parts = item.split(separator: ":")
                let dims = parts[0].split(separator: "x").compactMap { Int($0) }
                guard dims.count == 3, dims.allSatisfy({ $0 > 0 && $0 <= 16384 }), parts.count <= 2,
                      parts.count == 1 || gemmBenchVariants.contains(String(parts[1])) else {
                    fail("gemm: --shapes: '\(item)' is not MxKxN[:NN|NT|TN] with sizes 1...16384")
                }
                list.append((dims[0], dims[1], dims[2], parts.count == 2 ? [String(parts[1])] : gemmBenchVariants))
            }
            guard !list.isEmpty else { fail("gemm: --shapes needs a list like 128x127x256,128x256x127:NT") }
            shapes = list
            i += 1
        default: fail("gemm: unknown option '\(arguments[i])'")
        }
        i += 1
    }
    if threads == 0 { threads = Parallel.coreCount }
    if gemmBenchThreadCPUTime && threads != 1 {
        fail("gemm: --cpu_time times the calling thread: it needs --threads 1")
    }
    let timer = numpy ? NumpyTimer(threads: threads) : nil

    if !json {
        print("sgemm GFLOP/s, threads \(threads), median of \(samples) samples of ~\(Int(sampleSeconds * 1000)) ms"
              + (gemmBenchThreadCPUTime ? " of thread CPU time" : "")
              + (timer.map { ", numpy \($0.version) with OPENBLAS_NUM_THREADS=\(threads)" } ?? ""))
        var header = "M x K x N".padding(toLength: 18, withPad: " ", startingAt: 0) + "var     ours"
        if bf16 { header += "     bf16  bf16/f32" }
        if timer != nil { header += "    numpy   ratio" }
        print(header)
    }
    for s in shapes {
        for v in s.variants {
            let ours = measureOurs(m: s.m, k: s.k, n: s.n, variant: v, threads: threads)
            let rounded = bf16 ? measureOurs(m: s.m, k: s.k, n: s.n, variant: v, threads: threads, bf16: true) : nil
            let theirs = timer?.measure(m: s.m, k: s.k, n: s.n, variant: v)
            // NOTE: OpenBLAS's worker threads keep spinning for a while after numpy's last call;
            // let them park so they do not steal cores from our next measurement.
            if theirs != nil && threads > 1 { usleep(200_000) }
            if json {
                var line = "{\"m\": \(s.m), \"k\": \(s.k), \"n\": \(s.n), \"variant\": \"\(v)\", \"threads\": \(threads), \"gflops\": \(fmt(ours, 2))"
                if let rounded { line += ", \"bf16_gflops\": \(fmt(rounded, 2))" }
                if let theirs { line += ", \"numpy_gflops\": \(fmt(theirs, 2)), \"ratio\": \(fmt(ours / theirs, 3))" }
                print(line + "}")
            } else {
                var line = "\(s.m)x\(s.k)x\(s.n)".padding(toLength: 18, withPad: " ", startingAt: 0)
                    + v + pad(fmt(ours, 1), 11)
                if let rounded { line += pad(fmt(rounded, 1), 9) + pad(fmt(rounded / ours, 2), 10) }
                if let theirs { line += pad(fmt(theirs, 1), 9) + pad(fmt(ours / theirs, 2), 8) }
                print(line)
            }
        }
    }
    return 0
}

private func fmt(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }
private func pad(_ s: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
