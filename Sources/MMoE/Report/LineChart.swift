/// A point of a chart series.
public struct ChartPoint: Sendable, Equatable {
    public var x: Double, y: Double
    public init(x: Double, y: Double) { self.x = x; self.y = y }
}

/// One named line of a `LineChart`.
public struct LineSeries: Sendable, Equatable {
    public var name: String
    public var points: [ChartPoint]
    public init(name: String, points: [ChartPoint]) { self.name = name; self.points = points }
}

/// Several series against a common numeric x axis (test loss against the training step), each in
/// its own colour, with a legend; optionally a log-scaled y axis.
///
/// Points are drawn in x order. A point the axis cannot show (non-finite, or not positive on a log
/// axis) breaks its line there rather than stopping the chart. Series of up to 40 points also get
/// a marker per point, so a one-point series is still visible.
public struct LineChart: Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var logY: Bool
    public var series: [LineSeries]

    public init(title: String, xLabel: String, yLabel: String, logY: Bool = false, series: [LineSeries]) {
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
        let xs = AxisScale.fitting(all.map(\.x), kind: .linear, start: frame.left, end: frame.right)
        let ys = AxisScale.fitting(all.map(\.y), kind: logY ? .log10 : .linear, start: frame.bottom, end: frame.top)
        frame.drawYAxis(ys, title: yLabel)
        frame.drawXAxis(xs, title: xLabel)
        for (i, s) in series.enumerated() {
            let color = ChartFrame.color(i)
            var segment: [(x: Double, y: Double)] = []
            for p in s.points.sorted(by: { $0.x < $1.x }) {
                if let px = xs.position(p.x), let py = ys.position(p.y) {
                    segment.append((px, py))
                } else {
                    frame.document.polyline(segment, color: color)
                    segment = []
                }
            }
            frame.document.polyline(segment, color: color)
            if s.points.count <= 40 {
                for p in s.points {
                    guard let px = xs.position(p.x), let py = ys.position(p.y) else { continue }
                    frame.document.circle(px, py, radius: 2.5, fill: color, title: "\(s.name): \(AxisScale.label(p.x)), \(AxisScale.label(p.y))")
                }
            }
        }
        if all.isEmpty { frame.note("no data") }
        frame.drawLegend(series.map(\.name))
        return frame.document.render()
    }
}
