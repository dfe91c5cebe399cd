public import TallyProto

/// An open bidirectional call: write requests, read responses, in any interleaving.
public struct BidirectionalCall<Request: ProtoMessage, Response: ProtoMessage>: Sendable {
    let call: any ClientCall

    /// Writes requests.
    public var requests: RequestWriter<Request> { RequestWriter(call: call) }
    /// Reads responses.
    public var responses: ResponseStream<Response> { ResponseStream(call: call) }

    /// Half-closes the call: no more requests. Responses keep coming until the server ends it.
    public func finish() async throws {
        try await call.halfClose()
    }

    /// Cancels the call.
    public func cancel() {
        call.cancel()
    }
}
