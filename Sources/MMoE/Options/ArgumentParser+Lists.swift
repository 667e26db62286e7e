import Foundation

extension ValueParser {
    /// A list of enum names, written as the number lists are: `"binary, regression"`,
    /// `binary,regression` or `"[binary, regression]"`; `""` and `"[]"` are the empty list,
    /// refused unless `allowEmpty`.
    static func choices<Element>(allowEmpty: Bool) -> ValueParser<[Element]>
        where Value == [Element], Element: RawRepresentable & CaseIterable, Element.RawValue == String {
        let names = Element.allCases.map(\.rawValue)
        return ValueParser(placeholder: "LIST", expected: "a list of " + names.joined(separator: ", "), read: { (text: String) throws(InvalidValue) in
            var body = text.trimmingCharacters(in: .whitespaces)
            if body.hasPrefix("["), body.hasSuffix("]"), body.count >= 2 {
                body = String(body.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
            }
            if body.isEmpty {
                guard allowEmpty else { throw InvalidValue("needs at least one entry, got \"\(text)\"") }
                return []
            }
            var values: [Element] = []
            for entry in body.split(separator: ",", omittingEmptySubsequences: false) {
                let e = entry.trimmingCharacters(in: .whitespaces)
                guard let v = Element(rawValue: e) else {
                    throw InvalidValue("entry \"\(e)\" in \"\(text)\" is not one of " + names.joined(separator: ", "))
                }
                values.append(v)
            }
            return values
        }, show: { "[" + $0.map(\.rawValue).joined(separator: ", ") + "]" })
    }
}
