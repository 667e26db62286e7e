import XCTest
import Foundation
@testable import Datasets

/// Issue 19, defects 7 and 12: category values that are not UTF-8 are refused naming line and
/// field (they could not be saved with the model intact), and error messages escape control bytes.
final class HostileTextTests: XCTestCase {
    func write(_ dir: String, _ name: String, _ lines: [[UInt8]]) throws {
        try Data(lines.joined(separator: [10]) + [10]).write(to: URL(fileURLWithPath: dir + "/" + name))
    }

    func testANonUTF8CategoryIsRefusedNamingLineAndField() throws {
        let dir = try CensusFixture.directory(self)
        var bad = Array(CensusFixture.line().utf8)
        let education = Array("High school graduate".utf8)
        let at = bad.firstRange(of: education)!.lowerBound
        bad.replaceSubrange(at ..< at + education.count, with: [0x48, 0xff, 0xfe])
        try write(dir, "census-income.data", [Array(CensusFixture.line().utf8), bad])
        try write(dir, "census-income.test", [Array(CensusFixture.line().utf8)])
        XCTAssertThrowsError(try CensusIncome.load(directory: dir)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("census-income.data:2 ") && text.contains("education") && text.contains("UTF-8"), text)
            XCTAssertTrue(text.contains("\\xFF"), text)
        }
    }

    func testErrorMessagesEscapeControlBytes() throws {
        let dir = try CensusFixture.directory(self)
        var bad = Array(CensusFixture.line().utf8)
        bad.replaceSubrange(0 ..< 2, with: [0x36, 0x00, 0x1b, 0x5b, 0x32, 0x4a])  // age "6\0\e[2J"
        try write(dir, "census-income.data", [bad])
        try write(dir, "census-income.test", [Array(CensusFixture.line().utf8)])
        XCTAssertThrowsError(try CensusIncome.load(directory: dir)) { error in
            let text = "\(error)"
            XCTAssertFalse(text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, text.debugDescription)
            XCTAssertTrue(text.contains("\\x00") && text.contains("\\x1B"), text)
        }
    }
}
