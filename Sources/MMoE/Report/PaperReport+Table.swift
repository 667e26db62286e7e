import Foundation

extension PaperReport {
    /// Markdown lines of a table with one column per correlation p (in `correlations` order): the
    /// first column is headed `first` and holds each row's `label`, then one `cell(row, p)` per p.
    /// The report's sections differ in what their rows and cells are, not in this frame.
    func correlationTable<Row>(_ first: String, rows: [Row], firstAlign: String = "---", cellAlign: String = "---:",
                               label: (Row) -> String, cell: (Row, Double) -> String) -> [String] {
        let ps = correlations
        var out = ["| \(first) | " + ps.map { "p = \(Self.correlationLabel($0))" }.joined(separator: " | ") + " |",
                   "|\(firstAlign)|" + String(repeating: "\(cellAlign)|", count: ps.count)]
        for row in rows {
            out.append("| \(label(row)) | " + ps.map { cell(row, $0) }.joined(separator: " | ") + " |")
        }
        return out
    }
}
