/// A literal of a filter expression.
public enum FilterValue: Sendable, Hashable, CustomStringConvertible {
    case integer(Int64)
    case double(Double)
    case string(String)
    case bool(Bool)

    /// What kind of value it is, for type checks and messages.
    public var kind: FilterValueKind {
        switch self {
        case .integer, .double: .number
        case .string: .string
        case .bool: .bool
        }
    }

    /// The literal as it could be written in a filter (strings in double quotes, escaped).
    public var description: String {
        switch self {
        case .integer(let number): "\(number)"
        case .double(let number): "\(number)"
        case .bool(let flag): "\(flag)"
        case .string(let text):
            "\"" + text.unicodeScalars.map { scalar -> String in
                switch scalar {
                case "\"": "\\\""
                case "\\": "\\\\"
                case "\n": "\\n"
                case "\t": "\\t"
                case "\r": "\\r"
                default: String(scalar)
                }
            }.joined() + "\""
        }
    }
}
