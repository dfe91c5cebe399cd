/// Limits of one connection, negotiated in the handshake. All sizes in bytes.
public struct ConnectionLimits: Sendable, Hashable {
    /// Largest frame payload either side may send (default 4 MiB).
    public var maxFrameSize: Int
    /// Most calls a client may have open at once on one connection (default 100).
    public var maxConcurrentCalls: Int
    /// Flow-control credit each side grants per call (default 1 MiB).
    public var initialWindow: Int
    /// Time a new connection has to send its HELLO (default 5 s).
    public var handshakeTimeout: Duration

    /// Creates limits; every parameter has a default.
    public init(
        maxFrameSize: Int = 4 << 20,
        maxConcurrentCalls: Int = 100,
        initialWindow: Int = 1 << 20,
        handshakeTimeout: Duration = .seconds(5)
    ) {
        self.maxFrameSize = maxFrameSize
        self.maxConcurrentCalls = maxConcurrentCalls
        self.initialWindow = initialWindow
        self.handshakeTimeout = handshakeTimeout
    }
}

/// Protocol versions this build speaks.
public enum ProtocolVersion {
    /// The only version so far.
    public static let current: UInt32 = 1
    /// Lowest version accepted.
    public static let minimum: UInt32 = 1
}
