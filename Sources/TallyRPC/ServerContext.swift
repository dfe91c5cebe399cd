public import Logging

/// What a service handler knows about the call it serves.
public struct ServerContext: Sendable {
    /// The method being called.
    public var method: MethodDescriptor
    /// The call id, unique on its connection.
    public var callID: UInt32
    /// The connection id, unique in the daemon's lifetime.
    public var connectionID: UInt64
    /// The instant after which the call fails with DEADLINE_EXCEEDED, if the client set one.
    public var deadline: ContinuousClock.Instant?
    /// Request metadata.
    public var metadata: Metadata
    /// A logger carrying the connection and call ids as metadata.
    public var logger: Logger
    /// Who makes the call (the peer's credentials); the daemon's own user for in-process calls.
    public var caller: Caller

    /// Creates a context.
    public init(
        method: MethodDescriptor,
        callID: UInt32,
        connectionID: UInt64,
        deadline: ContinuousClock.Instant? = nil,
        metadata: Metadata = [:],
        logger: Logger,
        caller: Caller = .daemonUser
    ) {
        self.method = method
        self.callID = callID
        self.connectionID = connectionID
        self.deadline = deadline
        self.metadata = metadata
        self.logger = logger
        self.caller = caller
    }
}
