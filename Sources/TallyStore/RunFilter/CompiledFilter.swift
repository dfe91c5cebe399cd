/// A filter compiled to SQL: a condition on `runs r`, and the common table expressions it
/// refers to when parts of a deeply nested filter had to be moved out of it.
package struct CompiledFilter: Sendable {
    /// `WITH … ` to write before the `SELECT` (empty when not needed), with its arguments.
    package var with: FilterSQL
    /// The condition, for the `WHERE` clause.
    package var condition: FilterSQL
}
