/// Per-call options of a client.
public struct CallOptions: Sendable {
    /// Time the call may take, measured from its start; `nil` means no deadline.
    public var timeout: Duration?
    /// Request metadata.
    public var metadata: Metadata

    /// Creates options.
    /// - Parameters:
    ///   - timeout: Time the call may take; `nil` for none.
    ///   - metadata: Request metadata.
    public init(timeout: Duration? = nil, metadata: Metadata = [:]) {
        self.timeout = timeout
        self.metadata = metadata
    }
}
