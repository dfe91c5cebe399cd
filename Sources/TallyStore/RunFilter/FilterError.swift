/// A malformed filter or order term: what is wrong and where.
///
/// The parser reports errors in this form; ``Store/searchRuns(experimentIDs:filter:orderBy:pageSize:pageToken:)``
/// turns them into a ``StoreError`` with code `invalidArgument` naming the input and the position.
public struct FilterError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong, without the position ("expected a value after \"<\"").
    public var message: String
    /// 0-based offset of the error in the input, counted in Unicode code points (as Python
    /// indexes a `str`); the input's length when the input ended too early.
    public var position: Int

    /// Creates an error.
    public init(_ message: String, at position: Int) {
        self.message = message
        self.position = position
    }

    /// "<message> at position <n>".
    public var description: String { "\(message) at position \(position)" }

    /// The store error a client sees: `invalidArgument`, prefixed by the input's name
    /// ("filter: expected a value after \"<\" at position 13"), with `field` and `position` set.
    public func storeError(input: String, field: String) -> StoreError {
        StoreError(code: .invalidArgument, message: "\(input): \(description)", field: field, position: position)
    }
}
