/// The syntax tree of a filter expression (docs/filter.md).
///
/// Built by ``FilterParser``, which has already checked that every predicate is well typed;
/// compiled to SQL by ``FilterCompiler``. `description` prints a canonical form with every
/// `and`, `or` and `not` parenthesized, used by tests and in logs.
public indirect enum FilterExpression: Sendable, Hashable, CustomStringConvertible {
    /// Both sides hold.
    case and(FilterExpression, FilterExpression)
    /// Either side holds.
    case or(FilterExpression, FilterExpression)
    /// The expression does not hold (a run missing the field of a comparison does not satisfy
    /// the comparison, so it satisfies its negation).
    case not(FilterExpression)
    /// `field op value`; false when the run has no value for the field.
    case compare(FilterField, Comparison, FilterValue)
    /// `field [not] in (values…)`; false when the run has no value for the field.
    case inList(FilterField, [FilterValue], negated: Bool)
    /// `field [not] like|ilike pattern`; false when the run has no value for the field.
    case like(FilterField, pattern: String, caseSensitive: Bool, negated: Bool)
    /// `field is [not] null`: whether the run has no value (or has one) for the field.
    case isNull(FilterField, negated: Bool)

    /// A comparison operator.
    public enum Comparison: String, Sendable, Hashable, CaseIterable {
        case equal = "="
        case notEqual = "!="
        case less = "<"
        case lessOrEqual = "<="
        case greater = ">"
        case greaterOrEqual = ">="

        /// Whether it orders values (`<`, `<=`, `>`, `>=`) rather than testing equality.
        public var isOrdering: Bool { self != .equal && self != .notEqual }
    }

    public var description: String {
        switch self {
        case .and(let left, let right): "(\(left) and \(right))"
        case .or(let left, let right): "(\(left) or \(right))"
        case .not(let inner): "(not \(inner))"
        case .compare(let field, let op, let value): "\(field) \(op.rawValue) \(value)"
        case .inList(let field, let values, let negated):
            "\(field) \(negated ? "not in" : "in") (\(values.map(\.description).joined(separator: ", ")))"
        case .like(let field, let pattern, let caseSensitive, let negated):
            "\(field) \(negated ? "not " : "")\(caseSensitive ? "like" : "ilike") \(FilterValue.string(pattern))"
        case .isNull(let field, let negated): "\(field) is \(negated ? "not " : "")null"
        }
    }
}
