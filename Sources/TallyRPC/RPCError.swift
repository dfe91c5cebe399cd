/// An error that ends a call with a status code other than ``RPCError/Code/ok``.
///
/// Services throw `RPCError` to choose the status a client sees. Any other error thrown by a
/// handler reaches the client as ``Code/internalError`` with a generic message, and is logged
/// in full by the server.
public struct RPCError: Error, Sendable, CustomStringConvertible {
    /// The status code.
    public var code: Code
    /// A human-readable message.
    public var message: String
    /// Optional machine-readable details: a serialized `tally.v1.ErrorDetails` by convention.
    public var details: [UInt8]
    /// The underlying error, kept for logging; never sent over the wire.
    public var cause: (any Error)?

    /// Creates an error.
    /// - Parameters:
    ///   - code: The status code.
    ///   - message: A human-readable message.
    ///   - details: Serialized details, empty when there are none.
    ///   - cause: The underlying error, if any.
    public init(code: Code, message: String, details: [UInt8] = [], cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.details = details
        self.cause = cause
    }

    public var description: String {
        message.isEmpty ? code.name : "\(code.name): \(message)"
    }
}

extension RPCError {
    /// A status code: gRPC's canonical codes, with their numbering.
    ///
    /// The set is open: codes the library does not know are kept as their raw value.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        public static let ok = Code(rawValue: 0)
        public static let cancelled = Code(rawValue: 1)
        public static let unknown = Code(rawValue: 2)
        public static let invalidArgument = Code(rawValue: 3)
        public static let deadlineExceeded = Code(rawValue: 4)
        public static let notFound = Code(rawValue: 5)
        public static let alreadyExists = Code(rawValue: 6)
        public static let permissionDenied = Code(rawValue: 7)
        public static let resourceExhausted = Code(rawValue: 8)
        public static let failedPrecondition = Code(rawValue: 9)
        public static let aborted = Code(rawValue: 10)
        public static let outOfRange = Code(rawValue: 11)
        public static let unimplemented = Code(rawValue: 12)
        public static let internalError = Code(rawValue: 13)
        public static let unavailable = Code(rawValue: 14)
        public static let dataLoss = Code(rawValue: 15)
        public static let unauthenticated = Code(rawValue: 16)

        private static let names = [
            "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
            "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
            "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
            "UNAUTHENTICATED",
        ]

        /// The canonical upper-case name ("NOT_FOUND"), or "CODE_<n>" for an unknown code.
        public var name: String {
            rawValue < Self.names.count ? Self.names[Int(rawValue)] : "CODE_\(rawValue)"
        }

        public var description: String { name }
    }
}

extension RPCError {
    /// Maps any error thrown by a handler or a transport to the status a peer should see.
    ///
    /// `RPCError` passes through unchanged; `CancellationError` becomes ``Code/cancelled``;
    /// anything else becomes ``Code/internalError`` with a generic message and the error as cause.
    /// - Parameter error: The error to map.
    /// - Returns: The error to report.
    public static func from(_ error: any Error) -> RPCError {
        switch error {
        case let error as RPCError:
            return error
        case is CancellationError:
            return RPCError(code: .cancelled, message: "the call was cancelled", cause: error)
        default:
            return RPCError(code: .internalError, message: "internal error", cause: error)
        }
    }
}
