/// An error of the HTTP gateway's setup (the token file, the listening address).
public struct GatewayError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as a family of errors.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The raw code.
        public var rawValue: String
        /// The token file or the dashboard's files could not be set up.
        public static let setupFailed = Code(rawValue: "setup_failed")
        /// The address could not be bound.
        public static let bindFailed = Code(rawValue: "bind_failed")
        /// An address given on the command line is not HOST:PORT.
        public static let badAddress = Code(rawValue: "bad_address")
        public var description: String { rawValue }
    }

    /// The family.
    public var code: Code
    /// What happened, for a person.
    public var message: String
    /// The underlying error, when there is one.
    public var cause: (any Error)?

    /// Creates an error.
    public init(code: Code, message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { message }
}
