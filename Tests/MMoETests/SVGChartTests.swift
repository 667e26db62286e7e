import XCTest
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import MMoE

/// Parses SVG text as XML, collecting element names, the text of `text` elements and every
/// attribute value.
final class SVGProbe: NSObject, XMLParserDelegate {
    var elements: [String] = []
    var texts: [String] = []
    var attributes: [String: [String]] = [:]
    private var inText = false
    private var current = ""

    /// Parses `svg`; fails the test (and returns nil) when it is not well-formed XML.
    static func parse(_ svg: String, file: StaticString = #filePath, line: UInt = #line) -> SVGProbe? {
        let probe = SVGProbe()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = probe
        guard parser.parse() else {
            XCTFail("not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "?")\n\(svg.prefix(400))", file: file, line: line)
            return nil
        }
        return probe
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes attributeDict: [String: String] = [:]) {
        elements.append(name)
        for (k, v) in attributeDict { attributes[k, default: []].append(v) }
        if name == "text" { inText = true; current = "" }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if inText { current += string }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "text" { texts.append(current); inText = false }
    }

    /// Every numeric attribute value (coordinates, sizes) and every number in a `points` list.
    var numbers: [Double] {
        var out: [Double] = []
        for key in ["x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "width", "height"] {
            out += (attributes[key] ?? []).compactMap(Double.init)
        }
        for list in attributes["points"] ?? [] {
            out += list.split(whereSeparator: { $0 == " " || $0 == "," }).compactMap { Double($0) }
        }
        return out
    }
}

final class SVGChartTests: XCTestCase {
    /// Parses, and checks what every chart must hold: an svg root, only finite coordinates (no
    /// NaN or inf spelled anywhere), and the same bytes when drawn twice.
    func check(_ draw: () -> String, file: StaticString = #filePath, line: UInt = #line) -> SVGProbe? {
        let svg = draw()
        XCTAssertEqual(svg, draw(), "drawing twice gives different bytes", file: file, line: line)
        for bad in ["nan", "inf"] {
            XCTAssertFalse(svg.lowercased().contains("=\"\(bad)") || svg.lowercased().contains(" \(bad)"), "\(bad) in the SVG", file: file, line: line)
        }
        guard let probe = SVGProbe.parse(svg, file: file, line: line) else { return nil }
        XCTAssertEqual(probe.elements.first, "svg", file: file, line: line)
        XCTAssertFalse(probe.numbers.isEmpty, file: file, line: line)
        XCTAssertTrue(probe.numbers.allSatisfy(\.isFinite), file: file, line: line)
        // Everything drawn stays on the canvas.
        let width = Double(probe.attributes["width"]!.first!)!, height = Double(probe.attributes["height"]!.first!)!
        for key in ["cx", "x1", "x2"] { for v in (probe.attributes[key] ?? []).compactMap(Double.init) { XCTAssertTrue((0...width).contains(v), "\(key) \(v)", file: file, line: line) } }
        for key in ["cy", "y1", "y2"] { for v in (probe.attributes[key] ?? []).compactMap(Double.init) { XCTAssertTrue((0...height).contains(v), "\(key) \(v)", file: file, line: line) } }
        return probe
    }

    func testLineChartHoldsEverySeriesAndEscapesNames() throws {
        let chart = LineChart(title: "Loss <p = 0.5> & more", xLabel: "step", yLabel: "loss", series: [
            LineSeries(name: "mmoe", points: [ChartPoint(x: 0, y: 1), ChartPoint(x: 100, y: 0.5), ChartPoint(x: 200, y: 0.25)]),
            LineSeries(name: "shared \"bottom\" <sb>", points: [ChartPoint(x: 0, y: 1.2), ChartPoint(x: 200, y: 0.4)]),
        ])
        let probe = try XCTUnwrap(check { chart.svg() })
        XCTAssertTrue(probe.texts.contains("mmoe"))
        XCTAssertTrue(probe.texts.contains("shared \"bottom\" <sb>"))
        XCTAssertTrue(probe.texts.contains("Loss <p = 0.5> & more"))
        XCTAssertEqual(probe.elements.filter { $0 == "polyline" }.count, 2)
        // Ticks on round values covering the data.
        XCTAssertTrue(probe.texts.contains("0") && probe.texts.contains("200"), "\(probe.texts)")
        XCTAssertTrue(probe.texts.contains("1") && probe.texts.contains("0.2"), "\(probe.texts)")
    }

    func testLineChartLogScaleDropsPointsItCannotShow() throws {
        let chart = LineChart(title: "t", xLabel: "x", yLabel: "y", logY: true, series: [
            LineSeries(name: "a", points: [ChartPoint(x: 1, y: 10), ChartPoint(x: 2, y: 0), ChartPoint(x: 3, y: 1), ChartPoint(x: 4, y: 0.1),
                                           ChartPoint(x: 5, y: .nan), ChartPoint(x: 6, y: .infinity)]),
        ])
        let probe = try XCTUnwrap(check { chart.svg() })
        // 0 breaks the line after the first point: one line from x=3 to x=4, no line of one point.
        XCTAssertEqual(probe.elements.filter { $0 == "polyline" }.count, 1)
        XCTAssertEqual(probe.elements.filter { $0 == "circle" }.count, 3)
        XCTAssertTrue(probe.texts.contains("1") && probe.texts.contains("10") && probe.texts.contains("0.1"), "\(probe.texts)")
    }

    func testDegenerateInputsStillDrawAValidChart() throws {
        let cases: [[LineSeries]] = [
            [],
            [LineSeries(name: "empty", points: [])],
            [LineSeries(name: "one", points: [ChartPoint(x: 5, y: 0.3)])],
            [LineSeries(name: "flat", points: [ChartPoint(x: 2, y: 0), ChartPoint(x: 2, y: 0)])],
            [LineSeries(name: "nan", points: [ChartPoint(x: .nan, y: .nan)])],
            [LineSeries(name: "huge", points: [ChartPoint(x: 0, y: 1e300), ChartPoint(x: 1, y: -1e300)])],
        ]
        for series in cases {
            for logY in [false, true] {
                let probe = try XCTUnwrap(check { LineChart(title: "t", xLabel: "x", yLabel: "y", logY: logY, series: series).svg() })
                XCTAssertTrue(series.allSatisfy { probe.texts.contains($0.name) })
            }
        }
        let one = try XCTUnwrap(SVGProbe.parse(LineChart(title: "t", xLabel: "x", yLabel: "y", series: cases[2]).svg()))
        XCTAssertEqual(one.elements.filter { $0 == "circle" }.count, 1, "a one-point series is drawn as a marker")
        XCTAssertTrue(try XCTUnwrap(SVGProbe.parse(LineChart(title: "t", xLabel: "x", yLabel: "y", series: []).svg())).texts.contains("no data"))
    }

    func testSpreadChartDrawsBarsPerPoint() throws {
        let chart = SpreadChart(title: "final", xLabel: "p", yLabel: "loss", series: [
            SpreadSeries(name: "mmoe", points: [SpreadPoint(x: 0, center: 0.2, low: 0.1, high: 0.3),
                                               SpreadPoint(x: 1, center: 0.1, low: 0.1, high: 0.1)]),
            SpreadSeries(name: "omoe", points: [SpreadPoint(x: 0.5, center: 0.4, low: 0.35, high: 0.5)]),
        ])
        let probe = try XCTUnwrap(check { chart.svg() })
        XCTAssertTrue(probe.texts.contains("mmoe") && probe.texts.contains("omoe"))
        XCTAssertEqual(probe.elements.filter { $0 == "circle" }.count, 3)
        XCTAssertEqual(probe.elements.filter { $0 == "polyline" }.count, 1, "omoe has one point: no line")
        for series in [[], [SpreadSeries(name: "same", points: [SpreadPoint(x: 1, center: 1, low: 1, high: 1)])]] {
            _ = check { SpreadChart(title: "t", xLabel: "x", yLabel: "y", series: series).svg() }
            _ = check { SpreadChart(title: "t", xLabel: "x", yLabel: "y", logY: true, series: series).svg() }
        }
    }

    func testGroupedBarChartDrawsOneBarPerValue() throws {
        let chart = GroupedBarChart(title: "gates", xLabel: "expert", yLabel: "weight", groups: ["0", "1", "2"], series: [
            BarSeries(name: "task1", values: [0.5, 0.3, 0.2]),
            BarSeries(name: "task2", values: [0.1, .nan, 0.9]),
        ], yRange: 0...1)
        let probe = try XCTUnwrap(check { chart.svg() })
        XCTAssertTrue(probe.texts.contains("task1") && probe.texts.contains("task2") && probe.texts.contains("2"))
        // One background rect, two legend swatches, five bars (the NaN draws none).
        XCTAssertEqual(probe.elements.filter { $0 == "rect" }.count, 1 + 2 + 5)
        // Bar heights are proportional to the values on the 0-1 axis (the canvas and the 10 px
        // legend swatches are the other rects).
        let heights = (probe.attributes["height"] ?? []).compactMap(Double.init).filter { $0 != 460 && $0 != 10 }.sorted()
        XCTAssertEqual(heights.count, 5, "\(heights)")
        for (h, v) in zip(heights, [0.1, 0.2, 0.3, 0.5, 0.9]) { XCTAssertEqual(h / heights[4], v / 0.9, accuracy: 1e-3) }
        _ = check { GroupedBarChart(title: "t", xLabel: "x", yLabel: "y", groups: [], series: []).svg() }
        _ = check { GroupedBarChart(title: "t", xLabel: "x", yLabel: "y", groups: ["a"], series: [BarSeries(name: "s", values: [-2])]).svg() }
    }

    func testAxisTicksAreRoundAndCoverTheData() {
        let s = AxisScale.fitting([0.13, 0.87], kind: .linear, start: 0, end: 100)
        XCTAssertEqual(s.lo, 0, accuracy: 1e-12)
        XCTAssertEqual(s.hi, 1, accuracy: 1e-12)
        XCTAssertEqual(s.ticks.map(AxisScale.label), ["0", "0.2", "0.4", "0.6", "0.8", "1"])
        XCTAssertEqual(s.position(0.5)!, 50, accuracy: 1e-9)
        XCTAssertEqual(AxisScale.niceStep(0.17), 0.2, accuracy: 1e-15)
        XCTAssertEqual(AxisScale.niceStep(3), 5)
        XCTAssertEqual(AxisScale.niceStep(1), 1)
        let flat = AxisScale.fitting([3, 3], kind: .linear, start: 0, end: 1)
        XCTAssertLessThan(flat.lo, 3)
        XCTAssertGreaterThan(flat.hi, 3)
        let log = AxisScale.fitting([0.15, 0.7], kind: .log10, start: 0, end: 1)
        XCTAssertEqual(log.ticks.map(AxisScale.label), ["0.2", "0.3", "0.4", "0.5", "0.6", "0.7"])
        XCTAssertEqual(AxisScale.fitting([0.01, 5], kind: .log10, start: 0, end: 1).ticks.map(AxisScale.label), ["0.01", "0.1", "1"])
        XCTAssertEqual(AxisScale.fitting([0.02, 1], kind: .log10, start: 0, end: 1).ticks.map(AxisScale.label), ["0.02", "0.05", "0.1", "0.2", "0.5", "1"])
        XCTAssertNil(log.position(0))
        XCTAssertEqual(SVGDocument.format(1.005), "1")
        XCTAssertEqual(SVGDocument.format(-0.001), "0")
        XCTAssertEqual(SVGDocument.format(.nan), "0")
        XCTAssertEqual(SVGDocument.escape("a<b & 'c' \"d\"\u{1}"), "a&lt;b &amp; &apos;c&apos; &quot;d&quot;")
    }
}
