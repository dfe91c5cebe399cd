/// Why a journal could not be read or delivered.
public struct JournalError: Error, Sendable, CustomStringConvertible {
    /// Kinds of journal errors; extensible.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The file does not start with the journal's magic bytes.
        public static let notAJournal = Code(rawValue: "not_a_journal")
        /// A record's checksum matched but its payload is not a RunWrite.
        public static let undecodable = Code(rawValue: "undecodable")
        /// The file could not be opened, locked, read or removed.
        public static let io = Code(rawValue: "io")
    }

    public var code: Code
    public var message: String
    public var cause: (any Error)?

    public init(code: Code, message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { message }
}
