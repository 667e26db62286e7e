import Foundation

/// Runs the interoperability checks of `Scripts/` (TensorBoard's reader, onnxruntime) from the
/// tests: one way to start python3, collect what it prints and find a script, for every test that
/// checks our files against the real runtimes.
enum PythonScripts {
    /// `Scripts/<name>` in this checkout.
    static func path(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Scripts").appendingPathComponent(name).path
    }

    /// `python3 arguments...`: its exit status and its standard output and error together.
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3"] + arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, output)
    }

    /// Whether python3 exists and imports `modules` (e.g. "onnx, onnxruntime").
    static func canImport(_ modules: String) -> Bool {
        (try? run(["-c", "import \(modules)"]))?.status == 0
    }
}
