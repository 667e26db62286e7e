/// A data problem the user can fix, with the place it was found. `description` is the message the
/// CLI prints as it is.
public struct DatasetError: Error, CustomStringConvertible, Equatable {
    /// The file the problem was found in.
    public let file: String
    /// 1-based line number, when the error is about one line.
    public let line: Int?
    /// Field name (or 1-based column), when the error is about one field.
    public let field: String?
    /// What is wrong, without the place.
    public let message: String

    /// An error at `file`, optionally one line and one field of it.
    public init(file: String, line: Int? = nil, field: String? = nil, _ message: String) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    /// `file:line: field <name>: message`, with the parts that are known.
    public var description: String {
        var place = file
        if let line { place += ":\(line)" }
        if let field { place += " field \(field)" }
        return "\(place): \(message)"
    }
}
