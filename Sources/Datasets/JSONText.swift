import Foundation

/// JSON text written by hand (schemas, safetensors headers), where the project writes JSON without
/// `JSONSerialization` so that its key order and number forms are fixed.
public enum JSONText {
    /// `text` as a JSON string literal: quote, backslash and control characters escaped (RFC 8259).
    public static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
