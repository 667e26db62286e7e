import Foundation

/// Writes one TensorBoard event file, `events.out.tfevents.<unix time>.<host>`, into a directory
/// (`tensorboard --logdir` on that directory, or a parent, shows it). Events are buffered and
/// reach the file at `flush()`; a live TensorBoard sees everything up to the last flush.
public final class EventFileWriter {
    /// The event file's path.
    public let path: String
    private let handle: FileHandle
    private var pending: [UInt8] = []
    private var closed = false
    /// Wall-clock seconds since 1970 for each event; a parameter so tests can fix it.
    private let clock: () -> Double

    /// Creates the directory if needed and the file, and writes the file-version event.
    public init(directory: String, host: String = ProcessInfo.processInfo.hostName,
                clock: @escaping () -> Double = { Date().timeIntervalSince1970 }) throws(TensorBoardError) {
        self.clock = clock
        let now = clock()
        let name = "events.out.tfevents.\(Int(now)).\(Self.fileNameSafe(host))"
        path = (directory as NSString).appendingPathComponent(name)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw TensorBoardError("cannot create the TensorBoard directory \(directory): \(error.localizedDescription)")
        }
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw TensorBoardError("cannot create the TensorBoard event file \(path)")
        }
        self.handle = handle
        pending = TFRecord.frame(TensorBoardEvent.version(wallTime: now))
        try flush()
    }

    deinit { if !closed { try? handle.close() } }

    /// Scalars at `step`, in one event. Non-finite values are written as they are (TensorBoard
    /// shows NaN and infinities).
    public func add(scalars: [(tag: String, value: Double)], step: Int) {
        guard !scalars.isEmpty else { return }
        pending += TFRecord.frame(TensorBoardEvent.scalars(scalars.map { ($0.tag, Float($0.value)) }, step: step, wallTime: clock()))
    }

    /// Markdown for TensorBoard's text tab, at `step`.
    public func add(text: String, tag: String, step: Int) {
        pending += TFRecord.frame(TensorBoardEvent.text(tag: tag, text, step: step, wallTime: clock()))
    }

    /// Writes the buffered events to the file.
    public func flush() throws(TensorBoardError) {
        guard !pending.isEmpty else { return }
        guard !closed else { throw TensorBoardError("\(path): written to after it was closed") }
        do {
            try handle.write(contentsOf: pending)
        } catch {
            throw TensorBoardError("cannot write the TensorBoard event file \(path): \(error.localizedDescription)")
        }
        pending.removeAll(keepingCapacity: true)
    }

    /// Flushes and closes the file.
    public func close() throws(TensorBoardError) {
        guard !closed else { return }
        try flush()
        closed = true
        try? handle.close()
    }

    /// A tag TensorBoard groups well: letters, digits and `_ . / -`; anything else becomes `_`.
    public static func tag(_ parts: String...) -> String {
        parts.map { part in
            String(part.map { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) ? $0 : "_" })
        }.joined(separator: "/")
    }

    static func fileNameSafe(_ host: String) -> String {
        let safe = String(host.map { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) ? $0 : "_" })
        return safe.isEmpty ? "localhost" : safe
    }
}
