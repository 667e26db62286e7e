import XCTest
import Foundation
@testable import MMoE

/// The TensorBoard event files: TFRecord framing and masked CRC-32C, the Event/Summary encoding
/// against a file TensorBoard's own writer made, and reading files back with every CRC checked.
final class TensorBoardTests: XCTestCase {
    /// One event decoded with `ProtobufReader`: the fields the project writes.
    struct DecodedEvent {
        var wallTime = 0.0
        var step = 0
        var fileVersion: String?
        var scalars: [String: Float] = [:]
        var texts: [String: String] = [:]
        /// The plugin each text tag names in its metadata.
        var plugins: [String: String] = [:]
    }

    static func decode(_ record: [UInt8]) throws -> DecodedEvent {
        var event = DecodedEvent()
        for field in try ProtobufReader.fields(record) {
            switch field.number {
            case 1: event.wallTime = try XCTUnwrap(field.value.double)
            case 2: event.step = Int(Int64(bitPattern: try XCTUnwrap(field.value.integer)))
            case 3: event.fileVersion = field.value.string
            case 5:
                for value in try ProtobufReader.fields(try XCTUnwrap(field.value.data)) where value.number == 1 {
                    let parts = try ProtobufReader.fields(try XCTUnwrap(value.value.data))
                    let tag = try XCTUnwrap(parts.first { $0.number == 1 }?.value.string)
                    if let simple = parts.first(where: { $0.number == 2 }) { event.scalars[tag] = try XCTUnwrap(simple.value.float) }
                    if let tensor = parts.first(where: { $0.number == 8 }) {
                        let t = try ProtobufReader.fields(try XCTUnwrap(tensor.value.data))
                        XCTAssertEqual(t.first { $0.number == 1 }?.value.integer, 7, "dtype DT_STRING")
                        event.texts[tag] = t.first { $0.number == 8 }?.value.string
                    }
                    if let metadata = parts.first(where: { $0.number == 9 }) {
                        let m = try ProtobufReader.fields(try XCTUnwrap(metadata.value.data))
                        let plugin = try ProtobufReader.fields(try XCTUnwrap(m.first { $0.number == 1 }?.value.data))
                        event.plugins[tag] = plugin.first { $0.number == 1 }?.value.string
                    }
                }
            default: break
            }
        }
        return event
    }

    /// Every event of the one event file in `directory`, every CRC checked.
    static func events(in directory: String) throws -> (path: String, events: [DecodedEvent]) {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("events.out.tfevents.") }
        XCTAssertEqual(names.count, 1, "\(names)")
        let path = (directory as NSString).appendingPathComponent(try XCTUnwrap(names.first))
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        return (path, try TFRecord.records(bytes, name: path).map(decode))
    }

    static var fixturePath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/tensorboard/reference.tfevents").path
    }

    func testCRC32CBytewiseMatchesTheStandardAndTheWordwiseForm() {
        // RFC 3720's check value, and the TFRecord mask of a CRC TensorBoard's crc32c module gives.
        XCTAssertEqual(CRC32C.of(bytes: Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.of(bytes: [UInt8]()), 0)
        var rng = SystemRandomNumberGenerator()
        let words = (0..<37).map { _ in UInt32.random(in: .min ... .max, using: &rng) }
        let bytes = words.flatMap { w in (0..<4).map { UInt8(truncatingIfNeeded: w >> (8 * $0)) } }
        XCTAssertEqual(CRC32C.of(bytes: bytes), CRC32C.of(words, count: words.count))
        // Words and bytes mixed in one checksum.
        var mixed = CRC32C()
        mixed.update(words[0])
        mixed.update(bytes: bytes[4...])
        XCTAssertEqual(mixed.value, CRC32C.of(bytes: bytes))
    }

    func testEventsAreByteIdenticalToTensorBoardsOwnWriter() throws {
        // Scripts/make_tensorboard_fixture.py wrote these three events with TensorBoard's RecordWriter.
        let reference = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.fixturePath)))
        var ours = TFRecord.frame(TensorBoardEvent.version(wallTime: 1_700_000_000.25))
        ours += TFRecord.frame(TensorBoardEvent.scalars([("train/loss/income", 0.3125), ("test/auc/income", 0.9375)],
                                                         step: 100, wallTime: 1_700_000_001.5))
        ours += TFRecord.frame(TensorBoardEvent.text(tag: "flags", "| flag | value |\n|---|---|\n| seed | 2019 |", step: 0,
                                                     wallTime: 1_700_000_002.0))
        XCTAssertEqual(ours.count, reference.count)
        XCTAssertEqual(ours, reference)
        // The first record's length CRC, as TensorBoard masked it.
        XCTAssertEqual(TFRecord.word32(reference, 8), TFRecord.maskedCRC(reference[0..<8]))
        let events = try TFRecord.records(reference, name: "reference").map(Self.decode)
        XCTAssertEqual(events.map(\.step), [0, 100, 0])
        XCTAssertEqual(events[0].fileVersion, "brain.Event:2")
        XCTAssertEqual(events[1].scalars, ["train/loss/income": 0.3125, "test/auc/income": 0.9375])
        XCTAssertEqual(events[2].plugins["flags"], "text")
    }

    func testReadingRefusesCorruptAndTruncatedFiles() throws {
        let reference = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.fixturePath)))
        func error(_ bytes: [UInt8]) -> String {
            do { _ = try TFRecord.records(bytes, name: "f.tfevents"); return "no error" } catch { return error.description }
        }
        // Records start at bytes 0, 40 (63 bytes of data) and 119 (82 bytes).
        var flipped = reference
        flipped[41] ^= 0x01  // the second record's length
        XCTAssertEqual(error(flipped), "f.tfevents: record 1 at byte 40: length CRC mismatch")
        flipped = reference
        flipped[70] ^= 0x10  // the second record's data
        XCTAssertEqual(error(flipped), "f.tfevents: record 1 at byte 40: data CRC mismatch")
        flipped = reference
        flipped[reference.count - 1] ^= 0x80  // the last record's data CRC
        XCTAssertEqual(error(flipped), "f.tfevents: record 2 at byte 119: data CRC mismatch")
        XCTAssertEqual(error(Array(reference.dropLast(3))), "f.tfevents: record 2 at byte 119: length 82 runs past the end of the file")
        XCTAssertTrue(error(Array(reference.prefix(5))).contains("truncated header"), error(Array(reference.prefix(5))))
    }

    func testWriterFlushesAFileTensorBoardCanRead() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tb-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        var now = 1_800_000_000.0
        let writer = try EventFileWriter(directory: dir, host: "host name/1", clock: { now += 1; return now })
        XCTAssertEqual((writer.path as NSString).lastPathComponent, "events.out.tfevents.1800000001.host_name_1")
        writer.add(scalars: [(tag: EventFileWriter.tag("gates", "all tasks (shared gate)", "expert_0"), value: 0.5)], step: 7)
        // Nothing reaches the file before a flush.
        XCTAssertEqual(try Self.events(in: dir).events.count, 1)
        try writer.flush()
        let events = try Self.events(in: dir).events
        XCTAssertEqual(events.count, 2)
        XCTAssertEqual(events[1].scalars, ["gates/all_tasks__shared_gate_/expert_0": 0.5])
        XCTAssertEqual(events[1].step, 7)
        XCTAssertEqual(events[1].wallTime, 1_800_000_002)
    }

    func testAnUnwritableDirectoryIsAnErrorNamingIt() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tb-file-\(UUID().uuidString)").path
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data([1])))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: file) }
        XCTAssertThrowsError(try EventFileWriter(directory: file + "/run")) { error in
            XCTAssertTrue("\(error)".contains(file + "/run"), "\(error)")
        }
    }

    func testRunProgressText() {
        let p = RunProgress(firstStep: 1, lastStep: 100, start: 0)
        XCTAssertEqual(p.text(step: 10, elapsed: 12), "Elapsed 12 s, ETA 1:48")
        XCTAssertEqual(p.text(step: 100, elapsed: 75.4), "Elapsed 1:15, ETA 0:00")
        // A resumed run counts from its first step.
        XCTAssertEqual(RunProgress(firstStep: 51, lastStep: 100, start: 0).text(step: 60, elapsed: 10), "Elapsed 10 s, ETA 0:40")
        XCTAssertEqual(RunProgress.clock(3725), "1:02:05")
        XCTAssertEqual(RunProgress.clock(.infinity), "0:00")
    }
}
