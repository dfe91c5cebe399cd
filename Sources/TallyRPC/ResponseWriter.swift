public import TallyProto

/// Writes the typed responses of a server-streaming or bidirectional call.
public struct ResponseWriter<Message: ProtoMessage>: Sendable {
    private let raw: any RawMessageWriter

    /// Wraps a raw writer.
    public init(raw: any RawMessageWriter) {
        self.raw = raw
    }

    /// Sends one response; suspends while the client is not ready for more.
    /// - Parameter message: The response.
    /// - Throws: ``RPCError`` when the call has ended (for example, the client cancelled it).
    public func write(_ message: Message) async throws {
        try await raw.write(message.encodeResponse())
    }

    /// Sends one response that is already serialized: a message encoded once and sent to many
    /// calls, such as a job event to each of its watchers.
    /// - Parameter serialized: The serialized bytes of a `Message`.
    /// - Throws: ``RPCError`` when the call has ended.
    public func write(serialized: [UInt8]) async throws {
        try await raw.write(serialized)
    }
}
