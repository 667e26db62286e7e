import Foundation
import XCTest
import Datasets

/// The synthetic rows in `../shared/data/taobao` (beside the project's root): present for
/// developers and CI, absent from a user's fresh clone, where these tests skip.
final class TaobaoSharedSampleTests: XCTestCase {
    static let directory: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()  // the package root
        .appendingPathComponent("../shared/data/taobao").standardized.path

    func files() throws -> (train: String, test: String) {
        let files = try Taobao.files(in: Self.directory)
        try XCTSkipIf(files == nil, "no Taobao sample at \(Self.directory)")
        return files!
    }

    func testSharedSample() throws {
        let files = try files()
        let train = try Taobao.load(path: files.train)
        let test = try Taobao.load(path: files.test)
        XCTAssertEqual(train.count, 20_000)
        XCTAssertEqual(test.count, 5_000)
        XCTAssertEqual(try Taobao.countRows(path: files.train), 20_000)
        XCTAssertEqual(try Taobao.countRows(path: files.test), 5_000)

        func rate(_ t: TabularData, _ task: Int) -> Double {
            stride(from: task, to: t.labels.count, by: t.taskCount).reduce(0) { $0 + Double(t.labels[$1]) } / Double(t.count)
        }
        let rates = [train, test].map { (ctr: rate($0, 0), cvr: rate($0, 1)) }
        print("Taobao sample label rates: ctr train \(rates[0].ctr) test \(rates[1].ctr); cvr train \(rates[0].cvr) test \(rates[1].cvr)")
        for r in rates {
            XCTAssert((0.05 ... 0.09).contains(r.ctr), "ctr rate \(r.ctr)")
            XCTAssert((0.001 ... 0.02).contains(r.cvr), "cvr rate \(r.cvr)")
        }

        let schema = Taobao.schema
        for data in [train, test] {
            XCTAssertEqual(data.fieldCount, 17)
            for r in 0 ..< data.count {
                for f in 0 ..< 17 {
                    let ids = data.ids(row: r, field: f)
                    if f < 14 || f == 16 { XCTAssertEqual(ids.count, 1) }
                    for id in ids where !(schema.fieldOffsets[f] ..< schema.fieldOffsets[f] + schema.fieldRows[f]).contains(Int(id)) {
                        XCTFail("row \(r) field \(schema.fieldNames[f]): id \(id) outside its rows")
                    }
                }
            }
        }
        let tags = (0 ..< train.count).map { train.ids(row: $0, field: 14).count }
        print("Taobao sample tag_category_list lengths: mean \(Double(tags.reduce(0, +)) / Double(tags.count)), max \(tags.max()!), empty \(tags.filter { $0 == 0 }.count)")
    }

    /// Not a pass/fail test: prints the single-threaded parse speed on the training file (20 passes).
    func testParseSpeed() throws {
        let files = try files()
        let bytes = try FileManager.default.attributesOfItem(atPath: files.train)[.size] as! Int
        let passes = 20
        var rows = 0
        let clock = ContinuousClock()
        let read = try clock.measure {
            for _ in 0 ..< passes {
                try Taobao.read(path: files.train) { rows += $0.count; return true }
            }
        }
        var counted = 0
        let count = try clock.measure {
            for _ in 0 ..< passes { counted += try Taobao.countRows(path: files.train) }
        }
        XCTAssertEqual(rows, passes * 20_000)
        XCTAssertEqual(counted, rows)
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
        let s = seconds(read)
        print(String(format: "Taobao parse speed: %.0f rows/s, %.1f MB/s (%d passes over %d bytes in %.3f s); countRows %.1f MB/s",
                     Double(rows) / s, Double(passes * bytes) / s / 1e6, passes, bytes, s, Double(passes * bytes) / seconds(count) / 1e6))
    }
}
