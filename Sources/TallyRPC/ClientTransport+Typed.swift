public import TallyProto

extension ClientTransport {
    /// Makes a unary call.
    /// - Parameters:
    ///   - method: The method.
    ///   - request: The request.
    ///   - options: Deadline and metadata.
    /// - Returns: The response.
    /// - Throws: ``RPCError`` with the call's status.
    public func unary<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: MethodDescriptor,
        request: Request,
        options: CallOptions
    ) async throws -> Response {
        let bytes = try request.encodeRequest()
        return try Response.decodeResponse(try await unaryCall(method, request: bytes, options: options))
    }

    public func unaryCall(_ method: MethodDescriptor, request: [UInt8], options: CallOptions) async throws -> [UInt8] {
        try await unaryThroughCall(method, request: request, options: options)
    }

    /// Makes a unary call through ``openCall(_:options:)``: the general path, which a transport's
    /// own ``unaryCall(_:request:options:)`` may fall back to.
    /// - Parameters:
    ///   - method: The method to call.
    ///   - request: The serialized request.
    ///   - options: Deadline and metadata.
    /// - Returns: The serialized response.
    /// - Throws: ``RPCError`` with the call's status.
    public func unaryThroughCall(_ method: MethodDescriptor, request: [UInt8], options: CallOptions) async throws -> [UInt8] {
        let call = try await openCall(method, options: options)
        do {
            try await call.send(request, endStream: true)
            return try await call.responses.singleResponseBytes()
        } catch {
            call.cancel()
            throw error
        }
    }

    /// Makes a server-streaming call.
    /// - Parameters:
    ///   - method: The method.
    ///   - request: The request.
    ///   - options: Deadline and metadata.
    /// - Returns: The responses; they throw ``RPCError`` if the call ends with an error.
    ///   Dropping the sequence or cancelling the task iterating it cancels the call.
    public func serverStreaming<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: MethodDescriptor,
        request: Request,
        options: CallOptions
    ) async throws -> ResponseStream<Response> {
        let bytes = try request.encodeRequest()
        let call = try await openCall(method, options: options)
        do {
            try await call.send(bytes, endStream: true)
        } catch {
            call.cancel()
            throw error
        }
        return ResponseStream(call: call)
    }

    /// Makes a client-streaming call.
    /// - Parameters:
    ///   - method: The method.
    ///   - options: Deadline and metadata.
    ///   - requests: Writes the requests; the call half-closes when it returns, and is
    ///     cancelled if it throws.
    /// - Returns: The response.
    public func clientStreaming<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: MethodDescriptor,
        options: CallOptions,
        requests: @Sendable (RequestWriter<Request>) async throws -> Void
    ) async throws -> Response {
        let call = try await openCall(method, options: options)
        do {
            try await requests(RequestWriter(call: call))
            try await call.halfClose()
            return try await call.responses.singleResponse(Response.self)
        } catch {
            call.cancel()
            throw error
        }
    }

    /// Opens a bidirectional call.
    /// - Parameters:
    ///   - method: The method.
    ///   - options: Deadline and metadata.
    /// - Returns: The call: write requests, read responses, finish or cancel.
    public func bidirectional<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: MethodDescriptor,
        options: CallOptions
    ) async throws -> BidirectionalCall<Request, Response> {
        let call = try await openCall(method, options: options)
        return BidirectionalCall(call: call)
    }
}

extension RawMessageStream {
    /// Reads the one response of a unary or client-streaming call and waits for its END.
    func singleResponse<Message: ProtoMessage>(_ type: Message.Type) async throws -> Message {
        try Message.decodeResponse(try await singleResponseBytes())
    }

    /// Reads the one serialized response of a single-response call and waits for its END.
    func singleResponseBytes() async throws -> [UInt8] {
        var iterator = makeAsyncIterator()
        guard let bytes = try await iterator.next() else {
            try Task.checkCancellation()
            throw RPCError(code: .internalError, message: "the server ended the call without a response")
        }
        let response = bytes
        if try await iterator.next() != nil {
            throw RPCError(code: .internalError, message: "the server sent more than one response to a single-response call")
        }
        try Task.checkCancellation()
        return response
    }
}
