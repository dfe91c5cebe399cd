/// The shape of a call: how many messages go each way.
public enum CallKind: String, Sendable, Hashable {
    /// One request, one response.
    case unary
    /// One request, a stream of responses.
    case serverStreaming
    /// A stream of requests, one response.
    case clientStreaming
    /// A stream each way.
    case bidirectional

    /// Whether the client sends exactly one request message.
    public var hasSingleRequest: Bool { self == .unary || self == .serverStreaming }
    /// Whether the server sends exactly one response message.
    public var hasSingleResponse: Bool { self == .unary || self == .clientStreaming }
}
