public import TallyRPC

/// A protocol violation or refusal that ends a whole connection: the peer gets a GOAWAY with
/// this status, then the connection closes.
public struct ConnectionError: Error, Sendable, CustomStringConvertible {
    /// Status code carried in the GOAWAY.
    public var code: RPCError.Code
    /// Why.
    public var message: String

    /// Creates an error.
    public init(code: RPCError.Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.name): \(message)" }
}
