/// Something that carries calls from a client to a server: a socket connection, or an in-process
/// router in tests.
public protocol ClientTransport: Sendable {
    /// Opens a call. Nothing may be sent on the wire until the first ``ClientCall/send(_:endStream:)``
    /// or ``ClientCall/halfClose()``.
    /// - Parameters:
    ///   - method: The method to call.
    ///   - options: Deadline and metadata.
    /// - Returns: The open call.
    /// - Throws: ``RPCError`` (UNAVAILABLE when the transport is closed or draining).
    func openCall(_ method: MethodDescriptor, options: CallOptions) async throws -> any ClientCall

    /// Makes a unary call with a serialized request. Transports may answer unary calls faster
    /// than through ``openCall(_:options:)``; the default implementation goes through it.
    /// - Parameters:
    ///   - method: The method to call.
    ///   - request: The serialized request.
    ///   - options: Deadline and metadata.
    /// - Returns: The serialized response.
    /// - Throws: ``RPCError`` with the call's status.
    func unaryCall(_ method: MethodDescriptor, request: [UInt8], options: CallOptions) async throws -> [UInt8]
}

/// One call seen from the client, carrying serialized messages.
public protocol ClientCall: Sendable {
    /// Sends one request message; suspends while flow control holds it back.
    /// - Parameters:
    ///   - message: The serialized request.
    ///   - endStream: Whether this is the last request (half-closes the call).
    func send(_ message: [UInt8], endStream: Bool) async throws
    /// Half-closes the call: no more requests.
    func halfClose() async throws
    /// The responses. The sequence ends when the call ends with OK, and throws ``RPCError`` when
    /// it ends with another status.
    var responses: RawMessageStream { get }
    /// Cancels the call; the responses then end with CANCELLED.
    func cancel()
}
