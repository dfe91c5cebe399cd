import Testing
import TallyAPI
import TallyProto
import TallyRPC

/// A Diagnostics service with behaviour the tests control.
struct ScriptedDiagnostics: DiagnosticsServiceProtocol {
    struct Boom: Error {}

    func echo(request: EchoRequest, context: ServerContext) async throws -> EchoResponse {
        if request.failMessage == "boom" { throw Boom() }
        if request.failMessage == "wrapped" {
            // As services wrap a store error they cannot show the client.
            throw RPCError(code: .internalError, message: "internal error", cause: Boom())
        }
        if request.failCode != 0 {
            throw RPCError(code: RPCError.Code(rawValue: request.failCode), message: request.failMessage)
        }
        if request.delayMs > 0 { try await Task.sleep(for: .milliseconds(request.delayMs)) }
        var response = EchoResponse()
        response.payload = request.payload
        response.receivedBytes = UInt64(context.metadata["x-size"].flatMap { UInt64($0) } ?? 0)
        return response
    }

    func echoStream(request: EchoRequest, response: ResponseWriter<EchoResponse>, context: ServerContext) async throws {
        for index in 0..<request.count {
            if request.delayMs > 0 { try await Task.sleep(for: .milliseconds(request.delayMs)) }
            var message = EchoResponse()
            message.index = index
            try await response.write(message)
        }
    }

    func echoCollect(requests: RequestStream<EchoRequest>, context: ServerContext) async throws -> EchoResponse {
        var response = EchoResponse()
        for try await request in requests {
            response.index += 1
            response.receivedBytes += UInt64(request.payload.count)
        }
        return response
    }

    func echoBidi(requests: RequestStream<EchoRequest>, response: ResponseWriter<EchoResponse>, context: ServerContext) async throws {
        for try await request in requests {
            var message = EchoResponse()
            message.payload = request.payload.reversed()
            try await response.write(message)
        }
    }
}

@Suite("In-process transport and router")
struct InProcessTests {
    let client: DiagnosticsClient

    init() {
        var router = RPCRouter()
        ScriptedDiagnostics().registerMethods(with: &router)
        client = DiagnosticsClient(transport: InProcessTransport(router: router))
    }

    @Test("the generated registration covers every method with its shape")
    func registration() {
        var router = RPCRouter()
        ScriptedDiagnostics().registerMethods(with: &router)
        #expect(router.methods.map(\.path) == [
            "/tally.v1.Diagnostics/Echo", "/tally.v1.Diagnostics/EchoBidi",
            "/tally.v1.Diagnostics/EchoCollect", "/tally.v1.Diagnostics/EchoStream",
        ])
        #expect(router.route(for: "/tally.v1.Diagnostics/EchoCollect")?.method.kind == .clientStreaming)
        #expect(router.route(for: "/tally.v1.Diagnostics/EchoBidi")?.method.kind == .bidirectional)
        #expect(router.route(for: "/tally.v1.Diagnostics/Nope") == nil)
    }

    @Test("unary calls carry requests, responses and metadata")
    func unary() async throws {
        var request = EchoRequest()
        request.payload = [1, 2, 3]
        let response = try await client.echo(request, options: CallOptions(metadata: ["x-size": "99"]))
        #expect(response.payload == [1, 2, 3])
        #expect(response.receivedBytes == 99)
    }

    @Test("statuses thrown by handlers reach the client", arguments: [
        RPCError.Code.notFound, .invalidArgument, .failedPrecondition, .alreadyExists, .dataLoss,
    ])
    func statuses(code: RPCError.Code) async throws {
        var request = EchoRequest()
        request.failCode = code.rawValue
        request.failMessage = "because \(code)"
        let error = await #expect(throws: RPCError.self) { _ = try await client.echo(request) }
        #expect(error?.code == code)
        #expect(error?.message == "because \(code)")
    }

    @Test("an unknown error becomes INTERNAL without leaking its text")
    func unknownError() async throws {
        var request = EchoRequest()
        request.failMessage = "boom"
        let error = await #expect(throws: RPCError.self) { _ = try await client.echo(request) }
        #expect(error?.code == .internalError)
        #expect(error?.message == "internal error")
    }

    @Test("deadlines cancel the handler and report DEADLINE_EXCEEDED")
    func deadline() async throws {
        var request = EchoRequest()
        request.delayMs = 60_000
        let error = await #expect(throws: RPCError.self) {
            _ = try await client.echo(request, options: CallOptions(timeout: .milliseconds(50)))
        }
        #expect(error?.code == .deadlineExceeded)
    }

    @Test("all four call shapes work", arguments: [CallKind.unary, .serverStreaming, .clientStreaming, .bidirectional])
    func shapes(kind: CallKind) async throws {
        switch kind {
        case .unary:
            #expect(try await client.echo(EchoRequest()).payload.isEmpty)
        case .serverStreaming:
            var request = EchoRequest()
            request.count = 5
            var indices: [UInt32] = []
            for try await response in try await client.echoStream(request) { indices.append(response.index) }
            #expect(indices == [0, 1, 2, 3, 4])
        case .clientStreaming:
            let response = try await client.echoCollect { writer in
                for size in 1...4 {
                    var request = EchoRequest()
                    request.payload = Array(repeating: 0, count: size)
                    try await writer.write(request)
                }
            }
            #expect(response.index == 4)
            #expect(response.receivedBytes == 10)
        case .bidirectional:
            let call = try await client.echoBidi()
            var request = EchoRequest()
            request.payload = [1, 2, 3]
            try await call.requests.write(request)
            var iterator = call.responses.makeAsyncIterator()
            #expect(try await iterator.next()?.payload == [3, 2, 1])
            try await call.finish()
            #expect(try await iterator.next() == nil)
        }
    }

    @Test("a request that cannot be encoded fails before anything is sent")
    func unencodableRequest() async throws {
        var request = EchoRequest()
        var sample = Sample()
        sample.fString = "nul\u{0}inside"
        request.sample = sample
        let error = await #expect(throws: RPCError.self) { _ = try await client.echo(request) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("NUL") == true)
    }

    @Test("a unary call with no request message is INVALID_ARGUMENT")
    func missingRequest() async throws {
        let transport = client.transport
        let call = try await transport.openCall(DiagnosticsService.Method.echo, options: CallOptions())
        try await call.halfClose()
        let error = await #expect(throws: RPCError.self) { for try await _ in call.responses {} }
        #expect(error?.code == .invalidArgument)
    }
}

@Suite("Flow window")
struct FlowWindowTests {
    @Test("a sender waits while the window is exhausted and resumes on credit")
    func waitsForCredit() async throws {
        let window = FlowWindow(initial: 100)
        try await window.acquire(150)  // a positive window admits one message, which may overdraw it
        #expect(window.available == -50)
        let sent = Task { try await window.acquire(10) }
        try await Task.sleep(for: .milliseconds(50))
        window.release(40)
        #expect(window.available == -10)
        window.release(20)
        try await sent.value
        #expect(window.available == 0)
    }

    @Test("failing the window wakes and fails waiting senders")
    func fail() async throws {
        let window = FlowWindow(initial: 0)
        let sent = Task { try await window.acquire(1) }
        try await Task.sleep(for: .milliseconds(20))
        window.fail(RPCError(code: .cancelled, message: "gone"))
        let error = await #expect(throws: RPCError.self) { try await sent.value }
        #expect(error?.code == .cancelled)
        await #expect(throws: RPCError.self) { try await window.acquire(1) }
    }

    @Test("cancelling a waiting sender throws CancellationError and keeps the window usable")
    func cancel() async throws {
        let window = FlowWindow(initial: 0)
        let sent = Task { try await window.acquire(1) }
        try await Task.sleep(for: .milliseconds(20))
        sent.cancel()
        await #expect(throws: CancellationError.self) { try await sent.value }
        window.release(5)
        try await window.acquire(1)
        #expect(window.available == 4)
    }
}

@Suite("Status codes")
struct StatusCodeTests {
    @Test("canonical names follow gRPC's numbering", arguments: [
        (0, "OK"), (1, "CANCELLED"), (3, "INVALID_ARGUMENT"), (4, "DEADLINE_EXCEEDED"), (5, "NOT_FOUND"),
        (8, "RESOURCE_EXHAUSTED"), (9, "FAILED_PRECONDITION"), (12, "UNIMPLEMENTED"), (13, "INTERNAL"),
        (14, "UNAVAILABLE"), (15, "DATA_LOSS"), (16, "UNAUTHENTICATED"), (17, "CODE_17"),
    ])
    func names(raw: UInt32, name: String) {
        #expect(RPCError.Code(rawValue: raw).name == name)
    }

    @Test("errors map to statuses: RPCError as is, cancellation to CANCELLED, anything else to INTERNAL")
    func mapping() {
        struct Other: Error {}
        #expect(RPCError.from(RPCError(code: .notFound, message: "x")).code == .notFound)
        #expect(RPCError.from(CancellationError()).code == .cancelled)
        let other = RPCError.from(Other())
        #expect(other.code == .internalError)
        #expect(other.cause is Other)
    }
}
