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
    /// Time a connection may stay idle (no call open, no frame received) before the server
    /// sends GOAWAY UNAVAILABLE and closes it (default 300 s); `nil` for never.
    public var idleTimeout: Duration?
    /// Response bytes the server takes in for one connection before the handlers writing to it
    /// wait for the socket to drain (default 1 MiB). What it holds stays below this plus one
    /// message and its END, whatever window the peer grants.
    public var outboundBufferSize: Int
    /// Where call handlers run.
    public var handlerExecutor: HandlerExecutor

    /// Where a connection's call handlers run.
    public enum HandlerExecutor: Sendable, Hashable {
        /// The global concurrent executor (the default): a handler that blocks, or does file
        /// I/O, never stalls the event loop that serves other connections.
        case global
        /// The connection's event loop: no thread hop between the socket and the handler, which
        /// makes small calls cheaper, but a handler that blocks stalls every connection on that
        /// loop.
        case eventLoop
    }

    /// Creates limits; every parameter has a default.
    public init(
        maxFrameSize: Int = 4 << 20,
        maxConcurrentCalls: Int = 100,
        initialWindow: Int = 1 << 20,
        handshakeTimeout: Duration = .seconds(5),
        idleTimeout: Duration? = .seconds(300),
        outboundBufferSize: Int = 1 << 20,
        handlerExecutor: HandlerExecutor = .global
    ) {
        self.maxFrameSize = maxFrameSize
        self.maxConcurrentCalls = maxConcurrentCalls
        self.initialWindow = initialWindow
        self.handshakeTimeout = handshakeTimeout
        self.idleTimeout = idleTimeout
        self.outboundBufferSize = outboundBufferSize
        self.handlerExecutor = handlerExecutor
    }

    /// Largest frame payload the protocol can carry (its length field is 32 bits); the frame
    /// size limit is clamped to it.
    public static let protocolMaxFrameSize = Int(UInt32.max)
}

/// Protocol versions this build speaks.
public enum ProtocolVersion {
    /// The only version so far.
    public static let current: UInt32 = 1
    /// Lowest version accepted.
    public static let minimum: UInt32 = 1
}
