import Datasets

/// `--census_tasks`: which of the MMoE paper's two Census task groups to train.
extension ValueParser where Value == CensusTaskGroup {
    static var censusTasks: Self {
        let names = CensusTaskGroup.allCases.map(\.rawValue)
        return ValueParser(placeholder: "TASKS", expected: "income,marital or education,marital", read: { (text: String) throws(InvalidValue) in
            guard let group = CensusTaskGroup(parsing: text) else {
                throw InvalidValue("\"\(text)\" is not a Census task group; expected " + names.joined(separator: " or "))
            }
            return group
        }, show: { $0.rawValue })
    }
}
