/// Why the daemon could not start or stopped.
public struct DaemonError: Error, Sendable, CustomStringConvertible {
    /// What failed; extensible.
    public struct Code: RawRepresentable, Hashable, Sendable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// Another daemon holds the socket.
        public static let alreadyRunning = Code(rawValue: "already_running")
        /// A folder or file could not be set up.
        public static let setupFailed = Code(rawValue: "setup_failed")
    }

    /// What failed.
    public var code: Code
    /// A description naming the path involved.
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
