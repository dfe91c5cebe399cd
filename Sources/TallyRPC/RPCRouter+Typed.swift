public import TallyProto

extension RPCRouter {
    /// Registers a unary method.
    /// - Parameters:
    ///   - method: The method; its kind should be `.unary`.
    ///   - input: The request type.
    ///   - output: The response type.
    ///   - handler: Answers one request with one response.
    public mutating func registerUnary<Input: ProtoMessage, Output: ProtoMessage>(
        _ method: MethodDescriptor,
        input: Input.Type,
        output: Output.Type,
        handler: @escaping @Sendable (Input, ServerContext) async throws -> Output
    ) {
        register(method) { call in
            let request = try await call.requests.singleRequest(Input.self)
            let response = try await handler(request, call.context)
            try await call.responses.write(response.encodeResponse())
        }
    }

    /// Registers a server-streaming method.
    /// - Parameters:
    ///   - method: The method; its kind should be `.serverStreaming`.
    ///   - input: The request type.
    ///   - output: The response type.
    ///   - handler: Answers one request with any number of responses written to the writer.
    public mutating func registerServerStreaming<Input: ProtoMessage, Output: ProtoMessage>(
        _ method: MethodDescriptor,
        input: Input.Type,
        output: Output.Type,
        handler: @escaping @Sendable (Input, ResponseWriter<Output>, ServerContext) async throws -> Void
    ) {
        register(method) { call in
            let request = try await call.requests.singleRequest(Input.self)
            try await handler(request, ResponseWriter(raw: call.responses), call.context)
        }
    }

    /// Registers a client-streaming method.
    /// - Parameters:
    ///   - method: The method; its kind should be `.clientStreaming`.
    ///   - input: The request type.
    ///   - output: The response type.
    ///   - handler: Consumes the requests and answers with one response.
    public mutating func registerClientStreaming<Input: ProtoMessage, Output: ProtoMessage>(
        _ method: MethodDescriptor,
        input: Input.Type,
        output: Output.Type,
        handler: @escaping @Sendable (RequestStream<Input>, ServerContext) async throws -> Output
    ) {
        register(method) { call in
            let response = try await handler(RequestStream(raw: call.requests), call.context)
            try await call.responses.write(response.encodeResponse())
        }
    }

    /// Registers a bidirectional method.
    /// - Parameters:
    ///   - method: The method; its kind should be `.bidirectional`.
    ///   - input: The request type.
    ///   - output: The response type.
    ///   - handler: Consumes requests and writes responses, in any interleaving.
    public mutating func registerBidirectional<Input: ProtoMessage, Output: ProtoMessage>(
        _ method: MethodDescriptor,
        input: Input.Type,
        output: Output.Type,
        handler: @escaping @Sendable (RequestStream<Input>, ResponseWriter<Output>, ServerContext) async throws -> Void
    ) {
        register(method) { call in
            try await handler(RequestStream(raw: call.requests), ResponseWriter(raw: call.responses), call.context)
        }
    }
}

extension RawMessageStream {
    /// Reads the one request of a unary or server-streaming call.
    func singleRequest<Message: ProtoMessage>(_ type: Message.Type) async throws -> Message {
        var iterator = makeAsyncIterator()
        guard let bytes = try await iterator.next() else {
            throw RPCError(code: .invalidArgument, message: "the call ended without a request message")
        }
        return try Message.decodeRequest(bytes)
    }
}
