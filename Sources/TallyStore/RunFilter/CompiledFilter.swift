/// A filter compiled to SQL: a condition on `runs r`, and the common table expressions it
/// refers to when parts of a deeply nested filter had to be moved out of it.
public struct CompiledFilter: Sendable {
    /// `WITH … ` to write before the `SELECT` (empty when not needed), with its arguments.
    public var with: FilterSQL
    /// The condition, for the `WHERE` clause.
    public var condition: FilterSQL
}
