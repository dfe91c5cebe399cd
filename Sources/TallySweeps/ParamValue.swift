/// The values of one trial's parameters, by name: the sampled ones and the sweep's fixed ones.
public typealias Params = [String: ParamValue]

/// The value of one hyperparameter.
public enum ParamValue: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)

    /// The value as a number: ints and doubles as themselves, bools as 0 or 1; nil for strings.
    public var numericValue: Double? {
        switch self {
        case .int(let value): Double(value)
        case .double(let value): value
        case .bool(let value): value ? 1 : 0
        case .string: nil
        }
    }

    /// The int, or nil for any other case.
    public var intValue: Int? {
        if case .int(let value) = self { value } else { nil }
    }

    /// The double, or nil for any other case.
    public var doubleValue: Double? {
        if case .double(let value) = self { value } else { nil }
    }

    /// The string, or nil for any other case.
    public var stringValue: String? {
        if case .string(let value) = self { value } else { nil }
    }

    /// The bool, or nil for any other case.
    public var boolValue: Bool? {
        if case .bool(let value) = self { value } else { nil }
    }

    public var description: String {
        switch self {
        case .string(let value): value
        case .int(let value): String(value)
        case .double(let value): String(value)
        case .bool(let value): String(value)
        }
    }
}
