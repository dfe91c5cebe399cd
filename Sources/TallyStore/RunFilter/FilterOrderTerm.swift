/// One term of a search's order: a field and a direction. Runs without a value for the field
/// come last in both directions.
public struct FilterOrderTerm: Sendable, Hashable, CustomStringConvertible {
    public var field: FilterField
    public var descending: Bool

    /// Creates a term.
    public init(field: FilterField, descending: Bool) {
        self.field = field
        self.descending = descending
    }

    /// "field asc" or "field desc".
    public var description: String { "\(field) \(descending ? "desc" : "asc")" }
}
