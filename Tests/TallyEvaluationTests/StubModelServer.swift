import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A real HTTP server on 127.0.0.1 speaking the OpenAI chat-completions API (`POST
/// /v1/chat/completions`) and the Ollama chat API (`POST /api/chat`), answering deterministically by
/// rules embedded in the user message:
///
/// - `SLOW` → waits ``slowDelay`` before answering (past the tests' timeouts);
/// - `DELAY<ms>` (for example `DELAY200`) → waits that long, then answers normally;
/// - `FAIL500ONCE` → HTTP 500 on the first request for that message, a normal answer afterwards;
///   `FAIL500` → always HTTP 500; `FAIL400` → always HTTP 400 (a content the model refuses);
/// - `FAIL429RA<seconds>ONCE` → HTTP 429 with `Retry-After: <seconds>` on the first request, a
///   normal answer afterwards; `FAIL503RA<seconds>` → always HTTP 503 with that `Retry-After`;
/// - the model `missing-model` → HTTP 404 (both APIs, as they answer for an unknown model);
/// - `GARBAGE` → content that is not JSON; `NOCONF` → JSON without a confidence;
///   `OFFLABEL` → the label `astrology`; `FENCED` → the JSON inside a ```json fence with prose;
/// - otherwise the label of `LABEL=<id>` (default `sports`) with the confidence of `CONF=<x>`
///   (default 0.9), reasoning `"stub"` and the alternatives of `ALT=<id>`, or of
///   `ALTC=<id>:<confidence>,…` as objects with confidences.
///
/// OpenAI requests must carry `Authorization: Bearer <apiKey>` (else 401), and both APIs must send
/// the documented body fields (else 400). The server counts requests and the most in flight.
final class StubModelServer: Sendable {
    struct Stats: Sendable {
        var requests = 0
        var inFlight = 0
        var maxInFlight = 0
        var attemptsByMessage: [String: Int] = [:]
        var lastBody: [String: any Sendable] = [:]
        var lastPath = ""
    }

    static let slowDelay: TimeAmount = .seconds(10)

    let apiKey: String
    let stats = Mutex(Stats())
    private let channel: Mutex<(any Channel)?> = Mutex(nil)
    private let boundPort = Mutex(0)

    var port: Int { boundPort.withLock { $0 } }
    var openAIBaseURL: String { "http://127.0.0.1:\(port)/v1" }
    var ollamaBaseURL: String { "http://127.0.0.1:\(port)" }

    private init(apiKey: String) { self.apiKey = apiKey }

    /// Starts a server on an ephemeral port.
    static func start(apiKey: String = "test-key") async throws -> StubModelServer {
        let server = StubModelServer(apiKey: apiKey)
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(server: server))
                }
            }
        let channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        server.channel.withLock { $0 = channel }
        server.boundPort.withLock { $0 = channel.localAddress?.port ?? 0 }
        return server
    }

    /// Stops listening (connections already open are left to close).
    func stop() async throws {
        let channel = self.channel.withLock { channel in
            defer { channel = nil }
            return channel
        }
        try await channel?.close()
    }

    /// A port on loopback that nothing listens on: bound, then closed.
    static func closedPort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        return port
    }

    var snapshot: Stats { stats.withLock { $0 } }

    /// What to answer and when.
    struct Answer {
        var status: HTTPResponseStatus = .ok
        var body: String
        var delay: TimeAmount = .zero
        var retryAfter: String?
    }

    func answer(path: String, headers: HTTPHeaders, body: ByteBuffer) -> Answer {
        let isOpenAI = path == "/v1/chat/completions"
        guard isOpenAI || path == "/api/chat" else {
            return Answer(status: .notFound, body: #"{"error":"no such endpoint"}"#)
        }
        if isOpenAI, headers.first(name: "authorization") != "Bearer \(apiKey)" {
            return Answer(status: .unauthorized, body: #"{"error":{"message":"bad api key"}}"#)
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
            let model = object["model"] as? String,
            let messages = object["messages"] as? [[String: String]],
            messages.first?["role"] == "system",
            let user = messages.last(where: { $0["role"] == "user" })?["content"]
        else {
            return Answer(status: .badRequest, body: #"{"error":"bad request body"}"#)
        }
        if isOpenAI {
            let format = object["response_format"] as? [String: String]
            guard format?["type"] == "json_object", (object["temperature"] as? Double) == 0 else {
                return Answer(status: .badRequest, body: #"{"error":"missing response_format or temperature"}"#)
            }
        } else {
            let options = object["options"] as? [String: Any]
            guard object["stream"] as? Bool == false, object["format"] as? String == "json",
                (options?["temperature"] as? Double) == 0
            else {
                return Answer(status: .badRequest, body: #"{"error":"missing stream, format or options"}"#)
            }
        }
        let attempt = stats.withLock { stats in
            stats.attemptsByMessage[user, default: 0] += 1
            stats.lastBody = ["model": model, "user": user, "system": messages.first?["content"] ?? ""]
            stats.lastPath = path
            return stats.attemptsByMessage[user]!
        }

        if model == "missing-model" {
            return Answer(status: .notFound, body: #"{"error":{"message":"model 'missing-model' not found"}}"#)
        }
        var delay: TimeAmount = .zero
        if user.contains("FAIL400") {
            return Answer(status: .badRequest, body: #"{"error":{"message":"this content cannot be processed"}}"#)
        }
        if let seconds = Self.token("FAIL429RA", in: user, separator: "").map({ String($0.prefix { $0.isNumber }) }), attempt == 1 {
            return Answer(status: .tooManyRequests, body: #"{"error":"slow down"}"#, retryAfter: seconds)
        }
        if let seconds = Self.token("FAIL503RA", in: user, separator: "") {
            return Answer(status: .serviceUnavailable, body: #"{"error":"overloaded"}"#, retryAfter: seconds)
        }
        if user.contains("SLOW") { delay = Self.slowDelay }
        if let ms = Self.token("DELAY", in: user, separator: "").flatMap(Int64.init) { delay = .milliseconds(ms) }
        if user.contains("FAIL500ONCE") {
            if attempt == 1 { return Answer(status: .internalServerError, body: #"{"error":"boom"}"#, delay: delay) }
        } else if user.contains("FAIL500") {
            return Answer(status: .internalServerError, body: #"{"error":"boom"}"#, delay: delay)
        }

        let content: String
        if user.contains("GARBAGE") {
            content = "I think it is about sports, probably."
        } else if user.contains("NOCONF") {
            content = #"{"label": "sports", "reasoning": "no confidence given"}"#
        } else {
            let label = user.contains("OFFLABEL") ? "astrology" : (Self.token("LABEL", in: user) ?? "sports")
            let confidence = Self.token("CONF", in: user) ?? "0.9"
            var alternatives = Self.token("ALT", in: user).map { #"[""# + $0 + #""]"# } ?? "[]"
            if let list = Self.token("ALTC", in: user) {  // ALTC=tech:0.3,politics:0.1: objects with confidences
                alternatives = "[" + list.split(separator: ",").map { pair in
                    let parts = pair.split(separator: ":")
                    return #"{"label": ""# + parts[0] + #"", "confidence": "# + parts[1] + "}"
                }.joined(separator: ", ") + "]"
            }
            let json = #"{"label": ""# + label + #"", "confidence": "# + confidence
                + #", "reasoning": "stub", "alternatives": "# + alternatives + "}"
            content = user.contains("FENCED") ? "Sure! Here it is:\n```json\n\(json)\n```\nHope that helps." : json
        }
        let reply: [String: Any] =
            isOpenAI
            ? [
                "id": "chatcmpl-stub", "object": "chat.completion", "model": model,
                "choices": [["index": 0, "message": ["role": "assistant", "content": content], "finish_reason": "stop"]],
            ]
            : ["model": model, "message": ["role": "assistant", "content": content], "done": true]
        let data = try! JSONSerialization.data(withJSONObject: reply)
        return Answer(body: String(decoding: data, as: UTF8.self), delay: delay)
    }

    /// The value after `NAME=` (or `NAME` with another separator) up to the next whitespace.
    static func token(_ name: String, in text: String, separator: String = "=") -> String? {
        guard let range = text.range(of: name + separator) else { return nil }
        let value = text[range.upperBound...].prefix { !$0.isWhitespace && $0 != "\"" }
        return value.isEmpty ? nil : String(value)
    }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let server: StubModelServer
        var head: HTTPRequestHead?
        var body = ByteBuffer()

        init(server: StubModelServer) { self.server = server }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body.clear()
            case .body(var chunk):
                body.writeBuffer(&chunk)
            case .end:
                guard let head else { return }
                server.stats.withLock { stats in
                    stats.requests += 1
                    stats.inFlight += 1
                    stats.maxInFlight = max(stats.maxInFlight, stats.inFlight)
                }
                let answer = server.answer(path: head.uri, headers: head.headers, body: body)
                let keepAlive = head.isKeepAlive
                if answer.delay == .zero {
                    respond(context: context, answer: answer, keepAlive: keepAlive)
                } else {
                    context.eventLoop.assumeIsolated().scheduleTask(in: answer.delay) {
                        self.respond(context: context, answer: answer, keepAlive: keepAlive)
                    }
                }
            }
        }

        func respond(context: ChannelHandlerContext, answer: Answer, keepAlive: Bool) {
            server.stats.withLock { $0.inFlight -= 1 }
            guard context.channel.isActive else { return }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: "\(answer.body.utf8.count)")
            headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
            if let retryAfter = answer.retryAfter { headers.add(name: "Retry-After", value: retryAfter) }
            let head = HTTPResponseHead(version: .http1_1, status: answer.status, headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: answer.body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
