/// The parts every chart shares: the canvas, the title, the plot area, the y axis with its grid,
/// the axis titles and a legend on the right. The charts draw their data inside `plot`.
struct ChartFrame {
    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
    static func color(_ i: Int) -> String { palette[i % palette.count] }

    var document: SVGDocument
    /// The plot area in pixels.
    let left: Double, right: Double, top: Double, bottom: Double

    /// A canvas of `width` x `height` with `title` on top and room on the right for a legend of
    /// `legendNames` (none: no room kept).
    init(width: Double = 760, height: Double = 460, title: String, legendNames: [String]) {
        document = SVGDocument(width: width, height: height)
        let longest = legendNames.map(\.count).max() ?? 0
        let legendWidth = legendNames.isEmpty ? 0 : min(260, 40 + 7 * Double(longest))
        left = 78
        right = width - 20 - legendWidth
        top = 44
        bottom = height - 56
        document.text(title, width / 2, 26, size: 16, anchor: .middle, bold: true)
    }

    /// The y axis (line, ticks, labels, light grid lines across the plot) and its title.
    mutating func drawYAxis(_ scale: AxisScale, title: String) {
        document.line(left, top, left, bottom, color: "#444")
        for tick in scale.ticks {
            guard let y = scale.position(tick) else { continue }
            document.line(left, y, right, y, color: "#e4e4e4")
            document.line(left - 5, y, left, y, color: "#444")
            document.text(AxisScale.label(tick), left - 8, y + 4, size: 11, anchor: .end)
        }
        document.text(title, 20, (top + bottom) / 2, size: 13, anchor: .middle, rotation: -90)
    }

    /// A numeric x axis: line at the bottom, ticks and labels.
    mutating func drawXAxis(_ scale: AxisScale, title: String) {
        document.line(left, bottom, right, bottom, color: "#444")
        for tick in scale.ticks {
            guard let x = scale.position(tick) else { continue }
            document.line(x, bottom, x, bottom + 5, color: "#444")
            document.text(AxisScale.label(tick), x, bottom + 19, size: 11, anchor: .middle)
        }
        drawXTitle(title)
    }

    mutating func drawXTitle(_ title: String) {
        document.text(title, (left + right) / 2, document.height - 14, size: 13, anchor: .middle)
    }

    /// One legend line per name, in its palette colour, from the top right.
    mutating func drawLegend(_ names: [String]) {
        let x = right + 18
        for (i, name) in names.enumerated() {
            let y = top + 8 + Double(i) * 20
            document.rect(x, y - 9, 14, 10, fill: Self.color(i))
            document.text(name, x + 20, y, size: 12)
        }
    }

    /// A note in the plot's top left corner (e.g. "no data").
    mutating func note(_ text: String) {
        document.text(text, left + 10, top + 18, size: 12, color: "#888")
    }
}
