/// One call as a transport hands it to a route: context, inbound requests, outbound responses.
public struct ServerCall: Sendable {
    /// What the handler knows about the call.
    public var context: ServerContext
    /// The request messages.
    public var requests: RawMessageStream
    /// Where response messages go.
    public var responses: any RawMessageWriter

    /// Creates a call.
    public init(context: ServerContext, requests: RawMessageStream, responses: any RawMessageWriter) {
        self.context = context
        self.requests = requests
        self.responses = responses
    }
}

/// Serves one call. Returning ends the call with OK; throwing ends it with the error's status.
public typealias RouteHandler = @Sendable (ServerCall) async throws -> Void
