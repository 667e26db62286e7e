import XCTest
import Foundation
import Datasets
@testable import MMoE

/// Small Census and Taobao directories, checkpoints trained on them by `mmoe-train`'s command, and
/// `mmoe-predict`'s command run with its output captured.
enum PredictFixture {
    static func temporaryDirectory(_ test: XCTestCase) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmoe-predict-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    static let censusBase = "65, Not in universe, 0, 0, High school graduate, 0, Not in universe, Married-civilian spouse present, Not in universe or children, Not in universe, White, All other, Male, Not in universe, Not in universe, Not in labor force, 0, 0, 0, Joint one under 65 & one 65+, Not in universe, Not in universe, Spouse of householder, Spouse of householder, 2259.6, ?, ?, ?, Not in universe under 1 year old, ?, 0, Not in universe, United-States, United-States, United-States, Native- Born in the United States, 0, Not in universe, 2, 0, 95, - 50000"

    /// `n` Census lines varied in age, education, marital status, weeks worked and income. With
    /// `unseen`, some rows carry an education value and ages that the training rows never had, so
    /// the unknown rows and the clipping of dense values are exercised.
    static func censusLines(_ n: Int, seed: Int, unseen: Bool = false) -> [String] {
        (0..<n).map { i -> String in
            var f = censusBase.components(separatedBy: ", ")
            let k = i * 7 + seed
            f[0] = "\(18 + k % 60 + (unseen && k % 4 == 0 ? 40 : 0))"
            var educations = ["High school graduate", "Bachelors degree(BA AB BS)", "Children", "Masters degree(MA MS MEng MEd MSW MBA)"]
            if unseen { educations.append("Doctorate degree(PhD EdD)") }
            f[4] = educations[k % educations.count]
            f[7] = k % 3 == 0 ? "Never married" : "Married-civilian spouse present"
            f[39] = "\(k % 53)"
            f[41] = k % 5 == 0 || (k % 4 == 1 && k % 3 != 0) ? "50000+" : "- 50000"
            return f.joined(separator: ", ") + "."
        }
    }

    /// A Census directory: `trainRows` training rows and `testRows` test rows (with unseen values).
    static func censusDirectory(_ test: XCTestCase, trainRows: Int = 60, testRows: Int = 40) throws -> String {
        let dir = try temporaryDirectory(test)
        try (censusLines(trainRows, seed: 0).joined(separator: "\n") + "\n").write(toFile: dir + "/census-income.data", atomically: true, encoding: .utf8)
        try (censusLines(testRows, seed: 3, unseen: true).joined(separator: "\n") + "\n").write(toFile: dir + "/census-income.test", atomically: true, encoding: .utf8)
        return dir
    }

    /// A Taobao directory of generated lines.
    static func taobaoDirectory(_ test: XCTestCase, trainRows: Int = 60, testRows: Int = 40) throws -> String {
        let dir = try temporaryDirectory(test)
        try TaobaoTrainingTests.lines(trainRows, seed: 1).write(toFile: dir + "/" + Taobao.trainFileName, atomically: true, encoding: .utf8)
        try TaobaoTrainingTests.lines(testRows, seed: 2).write(toFile: dir + "/" + Taobao.testFileName, atomically: true, encoding: .utf8)
        return dir
    }

    /// Trains on `data` with `mmoe-train`'s command (a tiny network, a few steps) and returns the
    /// final checkpoint's directory and the run's summary (whose final evaluation is on the test file).
    static func train(_ test: XCTestCase, data: String, extra: [String] = []) throws -> (checkpoint: String, summary: TrainingSummary) {
        let root = try temporaryDirectory(test)
        let arguments = ["--data_dir", data, "--embedding_vec_size", "2", "--expert_dnn", "8", "--tower_dnn", "4", "--batch_size", "20",
                         "--train_batches", "6", "--loss_print_interval", "100", "--threads", "1", "--output_dir", root + "/out",
                         "--model_save_dir", root + "/models"] + extra
        let summary = try TrainCommand(options: try TrainOptions.parse(arguments), print: { _ in }, printError: { _ in }).run()
        return (root + "/models/final_checkpoint", summary)
    }

    /// Runs `mmoe-predict`'s command; `stdin` feeds `--input -`. Returns the summary, what went to
    /// standard output, and what went to stderr.
    static func predict(_ arguments: [String], stdin: Data? = nil) throws -> (summary: PredictionSummary, out: String, err: [String]) {
        var command = PredictCommand(options: try PredictOptions.parse(arguments))
        var out = Data(), err: [String] = []
        command.writeStandardOutput = { out.append($0) }
        command.printError = { err.append($0) }
        if let stdin {
            let pipe = Pipe()
            command.standardInput = pipe.fileHandleForReading
            let writer = pipe.fileHandleForWriting
            DispatchQueue.global().async {
                writer.write(stdin)
                try? writer.close()
            }
        }
        let summary = try command.run()
        return (summary, String(decoding: out, as: UTF8.self), err)
    }

    /// The error `body` throws, as text; fails the test when it throws none.
    static func error(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            try body()
            XCTFail("expected an error", file: file, line: line)
            return ""
        } catch {
            return "\(error)"
        }
    }

    /// The CSV's rows of numbers (header dropped), each column read back as a Float.
    static func values(_ csv: String) -> [[Float]] {
        csv.split(separator: "\n", omittingEmptySubsequences: false).dropFirst().filter { !$0.isEmpty }
            .map { $0.split(separator: ",").map { Float(String($0))! } }
    }
}
