import XCTest
@testable import MMoE

/// The encoder against byte sequences from the protobuf encoding guide, and the decoder reading
/// back everything the encoder writes.
final class ProtobufTests: XCTestCase {
    func testEncodingGuideExamples() {
        // "message Test1 { optional int32 a = 1; }" with a = 150 encodes as 08 96 01.
        var w = ProtobufWriter()
        w.varint(1, 150)
        XCTAssertEqual(w.bytes, [0x08, 0x96, 0x01])
        // "optional string b = 2" with "testing": 12 07 74 65 73 74 69 6e 67.
        var s = ProtobufWriter()
        s.string(2, "testing")
        XCTAssertEqual(s.bytes, [0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6E, 0x67])
        // A negative int32 takes ten bytes.
        var n = ProtobufWriter()
        n.int64(1, -1)
        XCTAssertEqual(n.bytes, [0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        // "repeated int32 d = 4 [packed=true]" with 3, 270, 86942: 22 06 03 8E 02 9E A7 05.
        var p = ProtobufWriter()
        p.packedInt64(4, [3, 270, 86942])
        XCTAssertEqual(p.bytes, [0x22, 0x06, 0x03, 0x8E, 0x02, 0x9E, 0xA7, 0x05])
    }

    func testRoundTrip() throws {
        var inner = ProtobufWriter()
        inner.float(1, 0.25)
        inner.double(2, -3.5)
        inner.packedFloats(3, [1, -2, .infinity])
        var w = ProtobufWriter()
        w.int64(1, Int64.min)
        w.bool(2, true)
        w.message(3, inner)
        w.fixed64(4, 0xDEAD_BEEF_0123_4567)
        w.bytes(5, [])
        let fields = try ProtobufReader.fields(w.bytes)
        XCTAssertEqual(fields.map(\.number), [1, 2, 3, 4, 5])
        XCTAssertEqual(fields[0].value.integer.map { Int64(bitPattern: $0) }, Int64.min)
        XCTAssertEqual(fields[1].value.integer, 1)
        XCTAssertEqual(fields[3].value, .fixed64(0xDEAD_BEEF_0123_4567))
        XCTAssertEqual(fields[4].value.data, [])
        let sub = try ProtobufReader.fields(fields[2].value.data!)
        XCTAssertEqual(sub[0].value.float, 0.25)
        XCTAssertEqual(sub[1].value.double, -3.5)
        XCTAssertEqual(try ProtobufReader.packedFloats(sub[2].value.data!), [1, -2, .infinity])
        XCTAssertEqual(try ProtobufReader.packedVarints([0x03, 0x8E, 0x02]), [3, 270])
    }

    func testMalformedInputIsAnErrorNotACrash() {
        var w = ProtobufWriter()
        w.string(1, "hello")
        w.float(2, 1)
        // Every truncation of a valid message is either a shorter valid message or an error.
        for cut in 0..<w.bytes.count {
            let prefix = Array(w.bytes[..<cut])
            if let fields = try? ProtobufReader.fields(prefix) { XCTAssertTrue(fields.count <= 1, "cut \(cut)") }
        }
        XCTAssertThrowsError(try ProtobufReader.fields([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]))  // length past the end
        XCTAssertThrowsError(try ProtobufReader.fields([0x0B]))  // wire type 3 (groups) refused
        XCTAssertThrowsError(try ProtobufReader.fields([0x00, 0x00]))  // field 0
        XCTAssertThrowsError(try ProtobufReader.fields([0x08] + [UInt8](repeating: 0xFF, count: 11)))  // endless varint
    }
}
