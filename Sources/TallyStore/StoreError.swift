/// A failure of the store.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// What failed; extensible.
    public struct Code: RawRepresentable, Hashable, Sendable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The file could not be opened or migrated.
        public static let openFailed = Code(rawValue: "open_failed")
        /// The file could not be closed cleanly.
        public static let closeFailed = Code(rawValue: "close_failed")
    }

    /// What failed.
    public var code: Code
    /// A description naming the file.
    public var message: String
    /// The underlying error.
    public var cause: (any Error)?

    /// Creates an error.
    public init(code: Code, message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { message }
}
