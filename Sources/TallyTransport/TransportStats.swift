import Synchronization

/// Live counters of a server's transport, shared by all its connections.
public final class TransportStats: Sendable {
    private let connections = Atomic<Int>(0)
    private let calls = Atomic<Int>(0)
    private let connectionIDs = Atomic<UInt64>(0)

    /// Creates zeroed counters.
    public init() {}

    /// Connections open right now (handshake done or not).
    public var openConnections: Int { connections.load(ordering: .relaxed) }
    /// Calls whose handler is running right now, over all connections.
    public var callsInFlight: Int { calls.load(ordering: .relaxed) }

    func nextConnectionID() -> UInt64 { connectionIDs.wrappingAdd(1, ordering: .relaxed).newValue }
    func connectionOpened() { connections.wrappingAdd(1, ordering: .relaxed) }
    func connectionClosed() { connections.wrappingSubtract(1, ordering: .relaxed) }
    func callStarted() { calls.wrappingAdd(1, ordering: .relaxed) }
    func callFinished() { calls.wrappingSubtract(1, ordering: .relaxed) }
}
