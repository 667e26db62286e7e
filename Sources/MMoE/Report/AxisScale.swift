import Foundation

/// How data values map to pixels along one axis, with the tick values to label.
///
/// Built from the data by `fitting`, which always yields a non-empty, finite domain (`lo < hi`),
/// whatever the data: none, one value, all equal, or with NaN mixed in. That is what keeps every
/// coordinate of a chart finite.
struct AxisScale {
    enum Kind { case linear, log10 }
    let kind: Kind
    /// The domain in data units.
    let lo: Double, hi: Double
    /// Pixels the domain maps onto (`start` for `lo`; on a y axis `start` is the bottom).
    let start: Double, end: Double
    let ticks: [Double]

    /// The pixel of `value`; nil when the axis cannot show it (non-finite, or not positive on a log axis).
    func position(_ value: Double) -> Double? {
        guard value.isFinite, kind == .linear || value > 0 else { return nil }
        let t = kind == .linear ? (value - lo) / (hi - lo) : (Foundation.log10(value) - Foundation.log10(lo)) / (Foundation.log10(hi) - Foundation.log10(lo))
        return start + t * (end - start)
    }

    /// `position`, held to the axis ends (for bars and error bars that run off a fixed range).
    func clampedPosition(_ value: Double) -> Double? {
        guard value.isFinite else { return nil }
        if kind == .log10 && value <= 0 { return start }
        return position(min(max(value, lo), hi))
    }

    /// A scale whose domain covers the finite `values` (and 0 with `includeZero`, linear only),
    /// widened to round tick values. `fixed` replaces the data's range (gate weights: 0...1).
    static func fitting(_ values: [Double], kind: Kind, start: Double, end: Double, includeZero: Bool = false,
                        fixed: ClosedRange<Double>? = nil) -> AxisScale {
        switch kind {
        case .linear:
            var data = values.filter(\.isFinite)
            if includeZero { data.append(0) }
            var lo = fixed?.lowerBound ?? data.min() ?? 0, hi = fixed?.upperBound ?? data.max() ?? 1
            if lo == hi {
                let pad = lo == 0 ? 1 : abs(lo) * 0.1
                lo -= pad
                hi += pad
            }
            let step = niceStep((hi - lo) / 5)
            if fixed == nil {
                lo = (lo / step).rounded(.down) * step
                hi = (hi / step).rounded(.up) * step
            }
            var ticks: [Double] = []
            let first = (lo / step).rounded(.up)
            var i = 0.0
            while (first + i) * step <= hi + step * 1e-9 && ticks.count < 50 {
                let v = (first + i) * step
                ticks.append(abs(v) < step * 1e-9 ? 0 : v)
                i += 1
            }
            return AxisScale(kind: .linear, lo: lo, hi: hi, start: start, end: end, ticks: ticks)
        case .log10:
            let data = values.filter { $0.isFinite && $0 > 0 }
            var lo = Foundation.log10(data.min() ?? 1), hi = Foundation.log10(data.max() ?? 10)
            if let fixed, fixed.lowerBound > 0 { lo = Foundation.log10(fixed.lowerBound); hi = Foundation.log10(fixed.upperBound) }
            let pad = hi > lo ? (hi - lo) * 0.05 : 0.1
            lo -= pad
            hi += pad
            let (a, b) = (pow(10, lo), pow(10, hi))
            return AxisScale(kind: .log10, lo: a, hi: b, start: start, end: end, ticks: logTicks(a, b))
        }
    }

    /// 1, 2 or 5 times a power of ten, the first at or above `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw.isFinite, raw > 0 else { return 1 }
        let power = pow(10, (Foundation.log10(raw)).rounded(.down))
        for m in [1.0, 2, 5, 10] where m * power >= raw * (1 - 1e-12) { return m * power }
        return 10 * power
    }

    /// Ticks inside [lo, hi]: the powers of ten when there are at least three, else 1-2-5 times
    /// them when there are at least three, else every digit times them, else the two ends.
    static func logTicks(_ lo: Double, _ hi: Double) -> [Double] {
        let first = Int(Foundation.log10(lo).rounded(.down)), last = Int(Foundation.log10(hi).rounded(.up))
        for (multipliers, enough) in [([1.0], 3), ([1, 2, 5], 3), (Array(stride(from: 1.0, through: 9, by: 1)), 2)] {
            var ticks: [Double] = []
            for e in first...last {
                for m in multipliers {
                    let v = m * pow(10, Double(e))
                    if v >= lo * (1 - 1e-12) && v <= hi * (1 + 1e-12) { ticks.append(v) }
                }
            }
            if ticks.count >= enough { return ticks }
        }
        return [lo, hi]
    }

    /// A tick label: up to four significant digits, no trailing zeros ("0.25", "1000", "1.5e-05").
    static func label(_ v: Double) -> String {
        String(format: "%.4g", v)
    }
}
