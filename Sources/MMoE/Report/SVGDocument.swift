import Foundation

/// An SVG picture assembled as text, element by element.
///
/// Every coordinate goes through `format`, so a chart is the same bytes on every machine and never
/// holds `nan` or `inf` (either makes the file unreadable to browsers); every piece of text goes
/// through `escape`, so a task or model name cannot break the XML.
struct SVGDocument {
    let width: Double, height: Double
    private var elements: [String] = []

    init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    /// Two decimals at most, trailing zeros dropped; a non-finite value becomes 0 (callers keep
    /// their coordinates finite; this is the last guard, not the plan).
    static func format(_ x: Double) -> String {
        guard x.isFinite else { return "0" }
        var s = String(format: "%.2f", x)
        while s.contains("."), s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s == "-0" ? "0" : s
    }

    /// Text safe inside an element or a double-quoted attribute: the five XML specials escaped, and
    /// the control characters XML 1.0 forbids dropped.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static let f = SVGDocument.format

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, color: String, width: Double = 1, dashed: Bool = false) {
        elements.append("<line x1=\"\(Self.f(x1))\" y1=\"\(Self.f(y1))\" x2=\"\(Self.f(x2))\" y2=\"\(Self.f(y2))\" "
                        + "stroke=\"\(color)\" stroke-width=\"\(Self.f(width))\"\(dashed ? " stroke-dasharray=\"4 3\"" : "")/>")
    }

    /// A connected line through `points`; nothing for fewer than two.
    mutating func polyline(_ points: [(x: Double, y: Double)], color: String, width: Double = 2) {
        guard points.count >= 2 else { return }
        let list = points.map { "\(Self.f($0.x)),\(Self.f($0.y))" }.joined(separator: " ")
        elements.append("<polyline points=\"\(list)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(Self.f(width))\" stroke-linejoin=\"round\"/>")
    }

    mutating func rect(_ x: Double, _ y: Double, _ width: Double, _ height: Double, fill: String, stroke: String? = nil, title: String? = nil) {
        let strokeAttr = stroke.map { " stroke=\"\($0)\"" } ?? ""
        let open = "<rect x=\"\(Self.f(x))\" y=\"\(Self.f(y))\" width=\"\(Self.f(max(0, width)))\" height=\"\(Self.f(max(0, height)))\" fill=\"\(fill)\"\(strokeAttr)"
        if let title {
            elements.append(open + "><title>\(Self.escape(title))</title></rect>")
        } else {
            elements.append(open + "/>")
        }
    }

    mutating func circle(_ cx: Double, _ cy: Double, radius: Double, fill: String, title: String? = nil) {
        let open = "<circle cx=\"\(Self.f(cx))\" cy=\"\(Self.f(cy))\" r=\"\(Self.f(radius))\" fill=\"\(fill)\""
        if let title {
            elements.append(open + "><title>\(Self.escape(title))</title></circle>")
        } else {
            elements.append(open + "/>")
        }
    }

    enum Anchor: String { case start, middle, end }

    /// `text` with its baseline at (x, y); `rotation` in degrees about that point.
    mutating func text(_ text: String, _ x: Double, _ y: Double, size: Double = 12, anchor: Anchor = .start,
                       rotation: Double? = nil, bold: Bool = false, color: String = "#222") {
        let rotate = rotation.map { " transform=\"rotate(\(Self.f($0)) \(Self.f(x)) \(Self.f(y)))\"" } ?? ""
        elements.append("<text x=\"\(Self.f(x))\" y=\"\(Self.f(y))\" font-size=\"\(Self.f(size))\" text-anchor=\"\(anchor.rawValue)\" "
                        + "fill=\"\(color)\"\(bold ? " font-weight=\"bold\"" : "")\(rotate)>\(Self.escape(text))</text>")
    }

    /// The whole file: XML declaration, the `svg` root with a white background, the elements in
    /// the order they were added.
    func render() -> String {
        var lines = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
                     "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Self.f(width))\" height=\"\(Self.f(height))\" "
                     + "viewBox=\"0 0 \(Self.f(width)) \(Self.f(height))\" font-family=\"Helvetica, Arial, sans-serif\">",
                     "<rect x=\"0\" y=\"0\" width=\"\(Self.f(width))\" height=\"\(Self.f(height))\" fill=\"#ffffff\"/>"]
        lines += elements
        lines.append("</svg>")
        return lines.joined(separator: "\n") + "\n"
    }
}
