/// Data bytes quoted in an error message: printable text as it is, control bytes (NUL, escape
/// sequences, ...) and bytes that are not UTF-8 as `\xNN`, so a message never carries raw
/// terminal controls or invalid text (issue 19).
enum MessageText {
    static func escape<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out = ""
        let array = Array(bytes)
        func hex(_ b: UInt8) -> String { "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true) }
        var i = 0
        while i < array.count {
            let b = array[i]
            if b < 0x80 {
                out += b < 0x20 || b == 0x7f ? hex(b) : String(UnicodeScalar(b))
                i += 1
                continue
            }
            // A multi-byte sequence: kept when it is valid UTF-8 of a printable character.
            let length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
            if length > 1, i + length <= array.count, let s = String(validating: array[i ..< i + length], as: UTF8.self),
               let scalar = s.unicodeScalars.first, !scalar.properties.generalCategory.isControlLike {
                out += s
                i += length
            } else {
                out += hex(b)
                i += 1
            }
        }
        return out
    }

    /// Whether `bytes` are valid UTF-8.
    static func isUTF8<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        bytes.allSatisfy { $0 < 0x80 } || String(validating: Array(bytes), as: UTF8.self) != nil
    }
}

private extension Unicode.GeneralCategory {
    var isControlLike: Bool {
        switch self {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned, .privateUse: return true
        default: return false
        }
    }
}
