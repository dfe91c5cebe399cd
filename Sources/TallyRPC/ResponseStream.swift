public import TallyProto

/// The typed responses of a server-streaming or bidirectional call.
///
/// Iteration ends when the call ends with OK and throws ``RPCError`` when it ends otherwise.
public struct ResponseStream<Message: ProtoMessage>: AsyncSequence, Sendable {
    public typealias Element = Message
    public typealias Failure = any Error

    let call: any ClientCall

    /// Cancels the call.
    public func cancel() {
        call.cancel()
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: call.responses.makeAsyncIterator())
    }

    /// Iterates a ``ResponseStream``.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: RawMessageStream.AsyncIterator

        public mutating func next() async throws -> Message? {
            guard let bytes = try await base.next() else {
                try Task.checkCancellation()
                return nil
            }
            return try Message.decodeResponse(bytes)
        }
    }
}
