public import TallyAPI
public import TallyProto
public import TallyRPC

/// Serves `tally.v1.Diagnostics`: echo in every call shape, for tests and benchmarks.
public struct DiagnosticsProvider: DiagnosticsServiceProtocol {
    /// Creates the provider.
    public init() {}

    public func echo(request: EchoRequest, context: ServerContext) async throws -> EchoResponse {
        try await Self.prepare(request)
        return Self.response(to: request, index: 0, received: UInt64(request.payload.count))
    }

    public func echoStream(
        request: EchoRequest,
        response: ResponseWriter<EchoResponse>,
        context: ServerContext
    ) async throws {
        if request.failCode != 0 { try await Self.prepare(request) }
        for index in 0..<request.count {
            if request.delayMs > 0 {
                try await Task.sleep(for: .milliseconds(request.delayMs))
            }
            try Task.checkCancellation()
            try await response.write(Self.response(to: request, index: index, received: UInt64(request.payload.count)))
        }
    }

    public func echoCollect(requests: RequestStream<EchoRequest>, context: ServerContext) async throws -> EchoResponse {
        var count: UInt32 = 0
        var bytes: UInt64 = 0
        var last = EchoRequest()
        for try await request in requests {
            try await Self.prepare(request)
            count += 1
            bytes += UInt64(request.payload.count)
            last = request
        }
        var response = EchoResponse()
        response.sample = last.sample
        response.index = count
        response.receivedBytes = bytes
        return response
    }

    public func echoBidi(
        requests: RequestStream<EchoRequest>,
        response: ResponseWriter<EchoResponse>,
        context: ServerContext
    ) async throws {
        var index: UInt32 = 0
        var bytes: UInt64 = 0
        for try await request in requests {
            try await Self.prepare(request)
            bytes += UInt64(request.payload.count)
            try await response.write(Self.response(to: request, index: index, received: bytes))
            index += 1
        }
    }

    /// Waits `delay_ms` (cancellable) and fails with `fail_code` when the request asks for it.
    private static func prepare(_ request: EchoRequest) async throws {
        if request.delayMs > 0 {
            try await Task.sleep(for: .milliseconds(request.delayMs))
        }
        if request.failCode != 0 {
            throw RPCError(code: RPCError.Code(rawValue: request.failCode), message: request.failMessage)
        }
    }

    private static func response(to request: EchoRequest, index: UInt32, received: UInt64) -> EchoResponse {
        var response = EchoResponse()
        response.sample = request.sample
        response.payload = request.payload
        response.index = index
        response.receivedBytes = received
        return response
    }
}
