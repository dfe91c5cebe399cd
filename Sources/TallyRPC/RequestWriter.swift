public import TallyProto

/// Writes the typed requests of a client-streaming or bidirectional call.
public struct RequestWriter<Message: ProtoMessage>: Sendable {
    let call: any ClientCall

    /// Sends one request; suspends while the server is not ready for more.
    /// - Parameter message: The request.
    /// - Throws: ``RPCError``: INVALID_ARGUMENT if the message cannot be encoded (nothing is sent),
    ///   or the call's status if it has ended.
    public func write(_ message: Message) async throws {
        try await call.send(message.encodeRequest(), endStream: false)
    }
}
