/// One named set of bars, one value per group.
public struct BarSeries: Sendable, Equatable {
    public var name: String
    public var values: [Double]
    public init(name: String, values: [Double]) { self.name = name; self.values = values }
}

/// Bars side by side within each group (per expert, one bar per task's mean gate weight), a
/// legend for the series, a linear y axis from 0 (or over `yRange` when given).
///
/// A non-finite value draws no bar; a missing one (a series shorter than `groups`) likewise.
public struct GroupedBarChart: Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var groups: [String]
    public var series: [BarSeries]
    /// A fixed y range (values outside are clipped to it); nil fits the data and 0.
    public var yRange: ClosedRange<Double>?

    public init(title: String, xLabel: String, yLabel: String, groups: [String], series: [BarSeries],
                yRange: ClosedRange<Double>? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.groups = groups
        self.series = series
        self.yRange = yRange
    }

    /// The chart as a standalone SVG document.
    public func svg() -> String {
        var frame = ChartFrame(title: title, legendNames: series.map(\.name))
        let ys = AxisScale.fitting(series.flatMap(\.values), kind: .linear, start: frame.bottom, end: frame.top,
                                   includeZero: true, fixed: yRange)
        frame.drawYAxis(ys, title: yLabel)
        frame.document.line(frame.left, frame.bottom, frame.right, frame.bottom, color: "#444")
        frame.drawXTitle(xLabel)
        let band = (frame.right - frame.left) / Double(max(1, groups.count))
        let barWidth = band * 0.8 / Double(max(1, series.count))
        let zero = ys.clampedPosition(0) ?? frame.bottom
        for (g, group) in groups.enumerated() {
            let x0 = frame.left + Double(g) * band + band * 0.1
            frame.document.text(group, frame.left + (Double(g) + 0.5) * band, frame.bottom + 19, size: 11, anchor: .middle)
            for (i, s) in series.enumerated() where g < s.values.count {
                guard let y = ys.clampedPosition(s.values[g]) else { continue }
                frame.document.rect(x0 + Double(i) * barWidth, min(y, zero), barWidth, abs(zero - y), fill: ChartFrame.color(i),
                                    title: "\(s.name), \(group): \(AxisScale.label(s.values[g]))")
            }
        }
        if groups.isEmpty || series.isEmpty { frame.note("no data") }
        frame.drawLegend(series.map(\.name))
        return frame.document.render()
    }
}
