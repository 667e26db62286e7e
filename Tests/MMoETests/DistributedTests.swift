import XCTest
import Foundation
@testable import MMoE

/// Distributed training (`mpirun -np N mmoe-train`, see Distributed.md). The launch check runs in
/// every build; the runs under `mpirun` need an MPI-built `mmoe-train` (`MMOE_MPI_BIN`, else
/// `.build-mpi/release/mmoe-train`, else the binary next to the tests when they were built with
/// the `MPI` trait) and `mpirun`, and are skipped with a note otherwise.
final class DistributedTests: XCTestCase {
    // MARK: launching without MPI

    func testLaunchEnvironmentReadsTheWorldSize() {
        XCTAssertNil(LaunchEnvironment.worldSize([:]))
        XCTAssertEqual(LaunchEnvironment.worldSize(["OMPI_COMM_WORLD_SIZE": "4"]), 4)
        XCTAssertEqual(LaunchEnvironment.worldSize(["PMI_SIZE": "3"]), 3)
        XCTAssertNil(LaunchEnvironment.refusal(["OMPI_COMM_WORLD_SIZE": "1"]))
        if LaunchEnvironment.mpiBuilt {
            XCTAssertNil(LaunchEnvironment.refusal(["OMPI_COMM_WORLD_SIZE": "2"]))
        } else {
            XCTAssertTrue(LaunchEnvironment.refusal(["PMI_SIZE": "2"])?.contains("built without MPI") ?? false)
        }
    }

    /// A binary built without MPI, started as one of 2 ranks, says so and exits 2 instead of
    /// training a copy of its own.
    func testBinaryWithoutMPIRefusesSeveralRanks() throws {
        guard !LaunchEnvironment.mpiBuilt else { throw XCTSkip("these tests were built with the MPI trait: the binary next to them joins the job") }
        let binary = try Self.binaryNextToTests()
        for variable in ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"] {
            let r = try Self.run(binary.path, ["--train_batches", "1", "--output_dir", try PredictFixture.temporaryDirectory(self)],
                                 environment: [variable: "2"])
            XCTAssertEqual(r.status, 2, r.err)
            XCTAssertTrue(r.err.contains("one of 2 ranks") && r.err.contains("--traits MPI"), r.err)
            XCTAssertFalse(r.out.contains("Step"), r.out)
        }
    }

    // MARK: under mpirun

    /// Synthetic data, small: 8 steps of 256 rows, evaluation on 600 rows.
    static let synthetic = ["--num_train_samples", "2048", "--num_test_samples", "600", "--batch_size", "256", "--train_batches", "8",
                            "--loss_print_interval", "2", "--threads", "1", "--expert_dnn", "16", "--tower_dnn", "8", "--num_experts", "3"]

    /// 2 ranks and 4 ranks give the same bits as one process with as many shards: the losses,
    /// the evaluation, and the trained weights.
    func testRanksMatchOneProcess() throws {
        let mpi = try Self.mpiTools()
        let one = try train(mpi, ranks: 1, Self.synthetic)
        let two = try train(mpi, ranks: 2, Self.synthetic)
        try assertSameRun(one, two)
        XCTAssertTrue(two.out.contains("Distributed: 2 ranks"), two.out)
        XCTAssertEqual(two.out.components(separatedBy: "Rank[0], Step").count - 1, 4, "only rank 0 prints: \(two.out)")
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: two.dir + "/out/summary.json"))) as! [String: Any]
        XCTAssertEqual((summary["distributed"] as? [String: Any])?["world_size"] as? Int, 2)
        let fourShards = try train(mpi, ranks: 1, Self.synthetic + ["--inter", "4"])
        let four = try train(mpi, ranks: 4, Self.synthetic)
        try assertSameRun(fourShards, four)
    }

    /// Census: the embedding table's sparse gradients go across ranks too.
    func testCensusEmbeddingsMatchOneProcess() throws {
        let mpi = try Self.mpiTools()
        let data = try PredictFixture.censusDirectory(self, trainRows: 1024, testRows: 300)
        let flags = ["--data_dir", data, "--batch_size", "128", "--train_batches", "6", "--loss_print_interval", "3", "--threads", "1",
                     "--embedding_vec_size", "4", "--expert_dnn", "16", "--tower_dnn", "8"]
        try assertSameRun(try train(mpi, ranks: 1, flags), try train(mpi, ranks: 2, flags))
    }

    /// A run with checkpoints, stopped at step 4 and resumed to step 8 on 2 ranks, ends with the
    /// weights of a straight 8-step run; a 2-rank checkpoint resumes in one process too.
    func testCheckpointResumeAcrossRanks() throws {
        let mpi = try Self.mpiTools()
        let straight = try train(mpi, ranks: 2, Self.synthetic)
        let dir = try PredictFixture.temporaryDirectory(self)
        let first = try train(mpi, ranks: 2, Self.synthetic + ["--train_batches", "4", "--checkpoint", dir + "/ckpt", "--save_steps", "2"], in: dir)
        XCTAssertEqual(first.status, 0, first.err)
        let resumed = try train(mpi, ranks: 2, Self.synthetic + ["--checkpoint", dir + "/ckpt", "--save_steps", "2"], in: dir)
        XCTAssertTrue(resumed.out.contains("Resuming from"), resumed.out)
        XCTAssertEqual(try Self.weights(straight.dir + "/models/final_checkpoint"), try Self.weights(dir + "/models/final_checkpoint"))
        let alone = try train(mpi, ranks: 1, Self.synthetic + ["--train_batches", "10", "--checkpoint", dir + "/ckpt"], in: dir)
        XCTAssertTrue(alone.out.contains("Resuming from") && alone.out.contains("(step 8)"), alone.out)
    }

    /// A rank killed with SIGKILL mid-run ends the job with a non-zero status within a bounded
    /// time, and the last checkpoint resumes.
    func testKilledRankEndsTheJob() throws {
        let mpi = try Self.mpiTools()
        let dir = try PredictFixture.temporaryDirectory(self)
        let flags = Self.synthetic + ["--train_batches", "1000000", "--save_steps", "2", "--checkpoint", dir + "/ckpt", "--no_eval",
                                      "--output_dir", dir + "/out"]
        let p = Process()
        p.executableURL = URL(fileURLWithPath: mpi.mpirun)
        p.arguments = Self.mpirunFlags(ranks: 2) + [mpi.binary] + flags
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        var env = ProcessInfo.processInfo.environment
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        p.environment = env
        try p.run()
        // Wait for a saved checkpoint, then kill rank 1 (the child of mpirun whose environment says so).
        let deadline = Date().addingTimeInterval(60)
        var victim: Int32?
        while Date() < deadline {
            if victim == nil { victim = Self.child(of: p.processIdentifier, rank: 1) }
            if let victim, (try? FileManager.default.contentsOfDirectory(atPath: dir + "/ckpt"))?.contains(where: { $0.hasPrefix("model.ckpt-") }) == true {
                kill(victim, SIGKILL)
                break
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTAssertNotNil(victim, "rank 1's process was not found")
        let killed = Date()
        while p.isRunning && Date().timeIntervalSince(killed) < 30 { Thread.sleep(forTimeInterval: 0.1) }
        if p.isRunning {
            p.terminate()
            XCTFail("mpirun still runs 30 s after rank 1 was killed")
        }
        p.waitUntilExit()
        XCTAssertNotEqual(p.terminationStatus, 0)
        let saved = try FileManager.default.contentsOfDirectory(atPath: dir + "/ckpt").compactMap { Int($0.replacingOccurrences(of: "model.ckpt-", with: "")) }
        let last = try XCTUnwrap(saved.max())
        let resumed = try train(mpi, ranks: 2, Self.synthetic + ["--train_batches", "\(last + 2)", "--checkpoint", dir + "/ckpt", "--no_eval"], in: dir)
        XCTAssertEqual(resumed.status, 0, resumed.err)
        XCTAssertTrue(resumed.out.contains("Resuming from"), resumed.out)
    }

    // MARK: helpers

    struct Run { let status: Int32; let out: String; let err: String; let dir: String }

    /// Trains with `flags` on `ranks` ranks (1: the binary alone, no mpirun), into a fresh
    /// directory (or `dir`): outputs in `out`, the final model in `models`.
    func train(_ mpi: (mpirun: String, binary: String), ranks: Int, _ flags: [String], in dir: String? = nil) throws -> Run {
        let dir = try dir ?? PredictFixture.temporaryDirectory(self)
        let all = flags + (flags.contains("--output_dir") ? [] : ["--output_dir", dir + "/out"]) + ["--model_save_dir", dir + "/models"]
        let r = ranks == 1 ? try Self.run(mpi.binary, all) : try Self.run(mpi.mpirun, Self.mpirunFlags(ranks: ranks) + [mpi.binary] + all)
        XCTAssertEqual(r.status, 0, "\(ranks) ranks: \(r.err)")
        return Run(status: r.status, out: r.out, err: r.err, dir: dir)
    }

    /// The same printed losses and evaluation, and the same trained weights, bit for bit.
    func assertSameRun(_ a: Run, _ b: Run, file: StaticString = #filePath, line: UInt = #line) throws {
        func lines(_ run: Run) -> [String] {
            run.out.split(separator: "\n").filter { $0.hasPrefix("Rank[0]") }.map { line in
                // Drop what depends on time: latency, throughput, dates, memory.
                line.components(separatedBy: ", ").filter { f in
                    !["Latency", "Throughput", "Eval_time", "Metrics_time", "Host_Memory", "Elapsed", "ETA", "20"].contains { f.hasPrefix($0) }
                }.joined(separator: ", ")
            }
        }
        XCTAssertFalse(lines(a).isEmpty, a.out, file: file, line: line)
        XCTAssertEqual(lines(a), lines(b), file: file, line: line)
        XCTAssertEqual(try Self.weights(a.dir + "/models/final_checkpoint"), try Self.weights(b.dir + "/models/final_checkpoint"),
                       "trained weights differ", file: file, line: line)
    }

    /// The tensor bytes of a checkpoint's model file (its header carries metadata that may differ).
    static func weights(_ checkpoint: String) throws -> Data {
        let data = try Data(contentsOf: URL(fileURLWithPath: checkpoint + "/" + ModelCheckpoint.fileName))
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        return data.dropFirst(8 + headerLength)
    }

    static func mpirunFlags(ranks: Int) -> [String] {
        ["-np", "\(ranks)", "--oversubscribe", "--allow-run-as-root", "--bind-to", "none", "--mca", "btl", "self,vader,tcp"]
    }

    static func binaryNextToTests() throws -> URL {
        let bundle = Bundle(for: Self.self).bundleURL
        for dir in [bundle, bundle.deletingLastPathComponent()] {
            let url = dir.appendingPathComponent("mmoe-train")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        throw XCTSkip("no mmoe-train binary next to the tests in \(bundle.path)")
    }

    /// `mpirun` and an MPI-built `mmoe-train`, or a skip saying which is missing.
    static func mpiTools() throws -> (mpirun: String, binary: String) {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").map(String.init)
        guard let mpirun = paths.map({ $0 + "/mpirun" }).first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw XCTSkip("mpirun is not installed (apt-get install openmpi-bin libopenmpi-dev): the multi-rank tests are skipped")
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var candidates: [String] = []
        if let given = ProcessInfo.processInfo.environment["MMOE_MPI_BIN"] {
            candidates.append(given.hasSuffix("mmoe-train") ? given : given + "/mmoe-train")
        }
        candidates.append(root.appendingPathComponent(".build-mpi/release/mmoe-train").path)
        if LaunchEnvironment.mpiBuilt, let next = try? binaryNextToTests() { candidates.append(next.path) }
        guard let binary = candidates.first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw XCTSkip("no MPI-built mmoe-train (build one with `swift build -c release --traits MPI --scratch-path .build-mpi`, or set MMOE_MPI_BIN): the multi-rank tests are skipped")
        }
        return (mpirun, binary)
    }

    /// The pid of the child of `parent` whose environment has `OMPI_COMM_WORLD_RANK=rank`.
    static func child(of parent: Int32, rank: Int) -> Int32? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        for entry in entries {
            guard let pid = Int32(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, Int32(fields[1]) == parent,
                  let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { continue }
            if environ.split(separator: 0).contains(where: { String(decoding: $0, as: UTF8.self) == "OMPI_COMM_WORLD_RANK=\(rank)" }) { return pid }
        }
        return nil
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment.merging(environment) { _, b in b }
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        p.environment = env
        // stderr goes to a file, so that neither pipe fills while the other is read.
        let errFile = FileManager.default.temporaryDirectory.appendingPathComponent("mmoe-distributed-\(UUID().uuidString).err")
        FileManager.default.createFile(atPath: errFile.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errFile) }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = try FileHandle(forWritingTo: errFile)
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let errData = (try? Data(contentsOf: errFile)) ?? Data()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }
}
