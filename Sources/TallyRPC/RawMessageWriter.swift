/// Writes serialized messages of one call to its peer.
public protocol RawMessageWriter: Sendable {
    /// Sends one message; suspends while flow control or a slow peer holds it back.
    /// - Parameter message: The serialized message.
    /// - Throws: ``RPCError`` when the call has ended or the connection is gone.
    func write(_ message: [UInt8]) async throws
}
