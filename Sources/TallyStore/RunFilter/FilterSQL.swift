package import GRDB

/// A piece of SQL with the arguments of its `?` placeholders, in order.
package struct FilterSQL: Sendable {
    /// SQL text; user values appear only as `?` placeholders.
    package var sql: String
    /// One argument per placeholder, in the order they appear in `sql`.
    package var arguments: [DatabaseValue]

    /// Creates a fragment.
    package init(sql: String, arguments: [DatabaseValue] = []) {
        self.sql = sql
        self.arguments = arguments
    }
}
