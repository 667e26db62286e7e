/// A value at one x with its spread: the centre (a mean) and the ends of a bar around it
/// (min and max, or mean ± std).
public struct SpreadPoint: Sendable, Equatable {
    public var x: Double, center: Double, low: Double, high: Double
    public init(x: Double, center: Double, low: Double, high: Double) {
        self.x = x
        self.center = center
        self.low = low
        self.high = high
    }
}

/// One named line of a `SpreadChart`, with its points in x order.
public struct SpreadSeries: Sendable, Equatable {
    public var name: String
    public var points: [SpreadPoint]
    public init(name: String, points: [SpreadPoint]) { self.name = name; self.points = points }
}

/// Per series, a line through the centres with a vertical bar from `low` to `high` at each x:
/// final loss against task correlation per model, the bars the spread across seeds.
///
/// Series are nudged a few pixels apart along x so bars at the same x do not hide each other.
public struct SpreadChart: Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var logY: Bool
    public var series: [SpreadSeries]

    public init(title: String, xLabel: String, yLabel: String, logY: Bool = false, series: [SpreadSeries]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.logY = logY
        self.series = series
    }

    /// The chart as a standalone SVG document.
    public func svg() -> String {
        var frame = ChartFrame(title: title, legendNames: series.map(\.name))
        let all = series.flatMap(\.points)
        let xs = AxisScale.fitting(all.map(\.x), kind: .linear, start: frame.left + 12, end: frame.right - 12)
        let ys = AxisScale.fitting(all.flatMap { [$0.center, $0.low, $0.high] }, kind: logY ? .log10 : .linear,
                                   start: frame.bottom, end: frame.top)
        frame.drawYAxis(ys, title: yLabel)
        frame.drawXAxis(xs, title: xLabel)
        for (i, s) in series.enumerated() {
            let color = ChartFrame.color(i)
            let nudge = (Double(i) - Double(series.count - 1) / 2) * 4
            var centres: [(x: Double, y: Double)] = []
            for p in s.points.sorted(by: { $0.x < $1.x }) {
                guard let px = xs.position(p.x).map({ $0 + nudge }), let py = ys.position(p.center) else { continue }
                centres.append((px, py))
                if let lo = ys.clampedPosition(p.low), let hi = ys.clampedPosition(p.high) {
                    frame.document.line(px, lo, px, hi, color: color, width: 1.5)
                    frame.document.line(px - 4, lo, px + 4, lo, color: color, width: 1.5)
                    frame.document.line(px - 4, hi, px + 4, hi, color: color, width: 1.5)
                }
                frame.document.circle(px, py, radius: 3.5, fill: color,
                                      title: "\(s.name) at \(AxisScale.label(p.x)): \(AxisScale.label(p.center)) "
                                          + "[\(AxisScale.label(p.low)), \(AxisScale.label(p.high))]")
            }
            frame.document.polyline(centres, color: color)
        }
        if all.isEmpty { frame.note("no data") }
        frame.drawLegend(series.map(\.name))
        return frame.document.render()
    }
}
