import XCTest
import Foundation
@testable import Datasets

final class JSONTextTests: XCTestCase {
    /// Every escaped character reads back unchanged through Foundation's JSON parser.
    func testQuotedReadsBackThroughJSONSerialization() throws {
        let text = "a\"b\\c\nd\re\tf\u{01}g\u{1f}h é 😀 /"
        let quoted = JSONText.quoted(text)
        XCTAssertFalse(quoted.unicodeScalars.dropFirst().dropLast().contains { $0.value < 0x20 }, quoted)
        let back = try JSONSerialization.jsonObject(with: Data("[\(quoted)]".utf8)) as? [String]
        XCTAssertEqual(back, [text])
        XCTAssertEqual(JSONText.quoted("\u{01}"), "\"\\u0001\"")
    }
}
