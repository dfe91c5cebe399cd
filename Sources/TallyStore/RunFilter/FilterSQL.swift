public import GRDB

/// A piece of SQL with the arguments of its `?` placeholders, in order.
public struct FilterSQL: Sendable {
    /// SQL text; user values appear only as `?` placeholders.
    public var sql: String
    /// One argument per placeholder, in the order they appear in `sql`.
    public var arguments: [DatabaseValue]

    /// Creates a fragment.
    public init(sql: String, arguments: [DatabaseValue] = []) {
        self.sql = sql
        self.arguments = arguments
    }
}
