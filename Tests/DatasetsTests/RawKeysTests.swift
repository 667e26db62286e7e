import XCTest
@testable import Datasets

/// The raw 64-bit keys the readers keep on request: parallel to the ids, each id the bucket of its
/// key, and none kept unless asked for.
final class RawKeysTests: XCTestCase {
    func testTaobaoKeysAreParallelToIdsAndHashToThem() throws {
        let path = try TaobaoFixture.file(self, lines: TaobaoFixture.lines(60))
        XCTAssertNil(try Taobao.load(path: path).keys)
        let data = try Taobao.load(path: path, options: TaobaoOptions(keepKeys: true))
        let keys = try XCTUnwrap(data.keys)
        XCTAssertEqual(keys.count, data.ids.count)
        let schema = Taobao.schema, price = Taobao.fieldNames.firstIndex(of: "price")!
        for r in 0..<data.count {
            for f in 0..<data.fieldCount {
                let lo = Int(data.bagOffsets![r * data.fieldCount + f]), hi = Int(data.bagOffsets![r * data.fieldCount + f + 1])
                for k in lo..<hi {
                    let bucket = Int(data.ids[k]) - schema.fieldOffsets[f]
                    if f == price {
                        XCTAssertEqual(keys[k], FieldHash.key(field: f, value: String(bucket)))
                    } else {
                        XCTAssertEqual(Int(keys[k] % UInt64(schema.fieldRows[f])), bucket, "row \(r) field \(f)")
                    }
                }
            }
        }
        // Chunked reads carry the same keys.
        var chunked: [UInt64] = []
        try Taobao.read(path: path, chunkRows: 7, options: TaobaoOptions(keepKeys: true)) { chunked += $0.keys!; return true }
        XCTAssertEqual(chunked, keys)
    }

    func testCensusKeysOnRequest() throws {
        let dir = try CensusFixture.write(self, train: (0..<5).map { CensusFixture.line(["age": "\(30 + $0)"]) },
                                          test: [CensusFixture.line(["education": "Unheard of"])])
        XCTAssertNil(try CensusIncome.load(directory: dir).train.keys)
        let census = try CensusIncome.load(directory: dir, keepKeys: true)
        let education = CensusIncome.sparseNames.firstIndex(of: "education")!
        XCTAssertEqual(census.train.keys?.count, census.train.ids.count)
        XCTAssertEqual(census.test.keys?[education], FieldHash.key(field: education, value: "Unheard of"),
                       "a value unseen in training keeps its own key, though its id is the unknown row")
        XCTAssertEqual(Int(census.test.ids[education]), census.encoder.schema.unknownRow(field: education))
    }
}
