import XCTest
import Foundation
import Tensor
import TestSupport

/// The Chrome-trace timeline: op events from a tape, the JSON format, concurrent recording.
final class TimelineTests: XCTestCase {
    /// A small model step (embedding bag, concat, dense layers, softmax gate, mixture, loss) inside
    /// a "step" span, forward and backward.
    static func recordStep(_ timeline: Timeline, options: TapeOptions = TapeOptions()) {
        timeline.span("step") {
            let tape = Tape(options: options, timeline: timeline)
            let table = EmbeddingTable(name: "emb", value: TestSupport.random([10, 2], seed: 1))
            let emb = tape.embeddingBag(table, ids: [1, 2, 3, 4, 5, 6, 7, 8], offsets: [0, 2, 4, 6, 8])   // [4, 2]
            let x = concat([emb, tape.constant(TestSupport.random([4, 3], seed: 2))], axis: 1)             // [4, 5]
            let w = Parameter(name: "w", value: TestSupport.random([2, 5, 6], seed: 3))
            let b = Parameter(name: "b", value: TestSupport.random([2, 6], seed: 4))
            let experts = x.linear(tape.parameter(w), tape.parameter(b), activation: .relu)                 // [2, 4, 6]
            let g = Parameter(name: "g", value: TestSupport.random([1, 5, 2], seed: 5))
            let gates = x.linear(tape.parameter(g), nil).softmax(axis: -1)                                  // [1, 4, 2]
            let mixed = gatedMixture(gates: gates, experts: experts)                                        // [1, 4, 6]
            let logits = mixed.sum(axes: [2])                                                               // [1, 4]
            let loss = logits.bceWithLogits(Tensor(shape: [1, 4], scalars: [1, 0, 1, 0]))
            tape.backward(loss)
        }
    }

    func testTapeRecordsEveryOpInsideTheStep() throws {
        let timeline = Timeline()
        Self.recordStep(timeline)
        let events = timeline.events
        let names = Set(events.map(\.name))
        for name in ["step", "embedding_bag", "concat", "linear", "softmax", "gated_mixture", "sum", "bce_with_logits",
                     "bce_with_logits.backward", "sum.backward", "gated_mixture.backward", "softmax.backward",
                     "linear.backward", "concat.backward", "embedding_bag.backward"] {
            XCTAssert(names.contains(name), "missing event \(name); have \(names.sorted())")
        }
        let step = try XCTUnwrap(events.first { $0.name == "step" })
        XCTAssertEqual(events.first?.name, "step", "the enclosing span sorts first")
        for e in events {
            XCTAssertGreaterThanOrEqual(e.end, e.start, e.name)
            XCTAssert(e.start >= step.start && e.end <= step.end, "\(e.name) is not nested in the step span")
            XCTAssertEqual(e.thread, 0)
            if e.name == "step" { continue }
            XCTAssertEqual(e.category, e.name.hasSuffix(".backward") ? "backward" : "forward", e.name)
        }
        XCTAssertEqual(events.first { $0.name == "linear" }?.args["shape"], "[2, 4, 6]")
        // Events come in time order; every backward event starts after the last forward one.
        XCTAssertEqual(events.map(\.start), events.map(\.start).sorted())
        let lastForward = events.filter { $0.category == "forward" }.map(\.end).max()!
        XCTAssert(events.filter { $0.category == "backward" }.allSatisfy { $0.start >= lastForward })
    }

    func testUnfusedOpsAppearSeparately() {
        let timeline = Timeline()
        Self.recordStep(timeline, options: TapeOptions(fuseEpilogues: false))
        let names = timeline.events.map(\.name)
        for name in ["matmul", "bias_add", "relu", "matmul.backward", "bias_add.backward", "relu.backward"] {
            XCTAssert(names.contains(name), "missing \(name)")
        }
        XCTAssertFalse(names.contains("linear"))
    }

    func testChromeTraceJSON() throws {
        let timeline = Timeline()
        Self.recordStep(timeline)
        let data = timeline.chromeTraceJSON()
        let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(root["displayTimeUnit"] as? String, "ms")
        let events = try XCTUnwrap(root["traceEvents"] as? [[String: Any]])
        XCTAssertEqual(events.count, timeline.events.count)
        var lastTs = -Double.infinity
        for e in events {
            XCTAssertNotNil(e["name"] as? String)
            XCTAssertNotNil(e["cat"] as? String)
            XCTAssertEqual(e["ph"] as? String, "X")
            let ts = try XCTUnwrap((e["ts"] as? NSNumber)?.doubleValue)
            let dur = try XCTUnwrap((e["dur"] as? NSNumber)?.doubleValue)
            XCTAssertGreaterThanOrEqual(ts, 0)
            XCTAssertGreaterThanOrEqual(dur, 0)
            XCTAssertGreaterThanOrEqual(ts, lastTs, "events sorted by ts")
            lastTs = ts
            XCTAssertEqual((e["pid"] as? NSNumber)?.intValue, 1)
            XCTAssertNotNil((e["tid"] as? NSNumber)?.intValue)
            XCTAssertNotNil(e["args"] as? [String: Any])
        }
        // The step span, in microseconds, covers its ops.
        let step = try XCTUnwrap(events.first { $0["name"] as? String == "step" })
        let stepTs = (step["ts"] as! NSNumber).doubleValue, stepDur = (step["dur"] as! NSNumber).doubleValue
        for e in events {
            let ts = (e["ts"] as! NSNumber).doubleValue, dur = (e["dur"] as! NSNumber).doubleValue
            XCTAssert(ts >= stepTs && ts + dur <= stepTs + stepDur + 1e-6, "\(e["name"]!) outside the step")
        }

        let url = FileManager.default.temporaryDirectory.appendingPathComponent("timeline-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try timeline.write(to: url)
        XCTAssertEqual(try Data(contentsOf: url), data)
    }

    func testConcurrentRecordingLosesNothing() {
        let timeline = Timeline()
        let perThread = 5000
        let done = DispatchGroup()
        for t in 0..<2 {
            done.enter()
            Thread.detachNewThread {
                for i in 0..<perThread {
                    let now = Timeline.now()
                    timeline.record(name: "t\(t)", category: "test", start: now, end: now + 1, args: ["i": "\(i)"])
                }
                done.leave()
            }
        }
        done.wait()
        let events = timeline.events
        XCTAssertEqual(events.count, 2 * perThread)
        for t in 0..<2 {
            let mine = events.filter { $0.name == "t\(t)" }
            XCTAssertEqual(mine.count, perThread)
            XCTAssertEqual(Set(mine.map { $0.args["i"]! }).count, perThread)
            XCTAssertEqual(Set(mine.map(\.thread)).count, 1, "one thread id per thread")
        }
        XCTAssertEqual(Set(events.map(\.thread)), [0, 1])
    }

    /// Two tapes on two threads (batch shards) recording into one timeline.
    func testShardsOnTwoThreads() {
        let timeline = Timeline()
        let done = DispatchGroup()
        for _ in 0..<2 {
            done.enter()
            Thread.detachNewThread {
                TimelineTests.recordStep(timeline)
                done.leave()
            }
        }
        done.wait()
        let events = timeline.events
        XCTAssertEqual(events.filter { $0.name == "step" }.count, 2)
        XCTAssertEqual(Set(events.map(\.thread)).count, 2)
        XCTAssertEqual(events.filter { $0.thread == 0 }.count, events.filter { $0.thread == 1 }.count)
    }
}
