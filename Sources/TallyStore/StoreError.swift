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
        /// A record the request names does not exist.
        public static let notFound = Code(rawValue: "not_found")
        /// A record with that unique name already exists.
        public static let alreadyExists = Code(rawValue: "already_exists")
        /// The request conflicts with the records' state (an ended run, an immutable param).
        public static let failedPrecondition = Code(rawValue: "failed_precondition")
        /// The request itself is malformed (bad filter, over-long key).
        public static let invalidArgument = Code(rawValue: "invalid_argument")
        /// Stored content does not match its hash.
        public static let dataLoss = Code(rawValue: "data_loss")
        /// The disk is full or a size limit was reached.
        public static let resourceExhausted = Code(rawValue: "resource_exhausted")
        /// The database server cannot be reached now (a restart, a network cut); retrying later
        /// may succeed, and nothing was committed.
        public static let unavailable = Code(rawValue: "unavailable")
    }

    /// What failed.
    public var code: Code
    /// A description naming the file.
    public var message: String
    /// The underlying error.
    public var cause: (any Error)?
    /// The field or key the error is about, when there is one.
    public var field: String?
    /// Character offset in an input text (a filter expression), when the error is about one.
    public var position: Int?

    /// Creates an error.
    public init(code: Code, message: String, cause: (any Error)? = nil, field: String? = nil, position: Int? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
        self.field = field
        self.position = position
    }

    package static func notFound(_ what: String, _ id: String) -> StoreError {
        StoreError(code: .notFound, message: "\(what) \(id) not found", field: what)
    }

    public var description: String { message }
}
