/// The MMoE paper's two Census-income task groups: income above 50,000 with never married (the
/// paper's label correlation 0.17), or education of at least a bachelor's degree with never
/// married (0.23). A column that is a label is never an input: the education group has 28 sparse
/// fields, without `education`.
///
/// `income_50k` is an input in neither group: it is the file's own target column, and the
/// reference's table sizes have no entry for it, so both groups read the same columns apart from
/// their labels.
public enum CensusTaskGroup: String, Sendable, CaseIterable {
    case incomeMarital = "income,marital"
    case educationMarital = "education,marital"

    /// Task names, in label order.
    public var taskNames: [String] {
        switch self {
        case .incomeMarital: ["income", "marital"]
        case .educationMarital: ["education", "marital"]
        }
    }

    /// The raw columns the labels come from, in task order.
    public var labelColumnNames: [String] {
        switch self {
        case .incomeMarital: ["income_50k", "marital_stat"]
        case .educationMarital: ["education", "marital_stat"]
        }
    }

    /// Columns that are neither dense nor read by this group: `income_50k` and `marital_stat`
    /// always, `education` when it is a label.
    var excludedColumnNames: Set<String> { Set(CensusIncome.labelColumnNames + labelColumnNames) }

    /// The sparse input fields, in file order.
    public var sparseNames: [String] {
        let excluded = excludedColumnNames
        return CensusIncome.sparseNames.filter { !excluded.contains($0) }
    }

    /// The reference capacities (`CensusIncome.defaultTableSizes`) of `sparseNames`.
    public var defaultTableSizes: [Int] {
        let excluded = excludedColumnNames
        return zip(CensusIncome.sparseNames, CensusIncome.defaultTableSizes).filter { !excluded.contains($0.0) }.map(\.1)
    }

    /// The `education` values that count as at least a bachelor's degree (the paper's "education
    /// level at least college"): bachelor's, master's, professional school and doctorate.
    public static let bachelorOrHigher = [
        "Bachelors degree(BA AB BS)", "Masters degree(MA MS MEng MEd MSW MBA)",
        "Prof school degree (MD DDS DVM LLB JD)", "Doctorate degree(PhD EdD)",
    ]

    /// Reads `--census_tasks`: `income,marital` or `education,marital`, blanks and one pair of
    /// brackets allowed (`"[education, marital]"`). nil for anything else.
    public init?(parsing text: String) {
        var body = text.filter { $0 != " " }
        if body.hasPrefix("["), body.hasSuffix("]"), body.count >= 2 { body = String(body.dropFirst().dropLast()) }
        guard let group = Self(rawValue: body) else { return nil }
        self = group
    }
}
