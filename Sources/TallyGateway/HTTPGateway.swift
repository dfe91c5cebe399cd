import AsyncAlgorithms
import Foundation
import HTTPTypes
import Hummingbird
public import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import TallyProto
public import TallyRPC

/// The daemon's HTTP side (docs/dashboard.md): the dashboard's files and every RPC of the router
/// as JSON, behind the dashboard token. It sits beside the socket transport and calls the same
/// handlers through ``GatewayCallRunner``; nothing in it is written per method.
///
/// Routes:
/// - `GET /` the dashboard, `GET /assets/…` its files, `GET /vendor/dygraphs/…` the chart library
///   from where its Debian package installed it;
/// - `GET /api/methods` the methods and their shapes;
/// - `POST /api/<service>/<Method>` a call: a JSON request (an array for client-streaming and
///   bidirectional methods), a JSON response, or Server-Sent Events for server-streaming methods;
///   `GET` with `?request=<JSON>` for the latter, as `EventSource` needs.
public final class HTTPGateway: Sendable {
    /// What the gateway serves and where.
    public struct Configuration: Sendable {
        /// Where to listen.
        public var address: GatewayAddress
        /// The token requests need.
        public var token: DashboardToken
        /// The folder of the dashboard's own files; `nil` for the copy built into the package.
        public var assetsFolder: String?
        /// The folder of the chart library (Debian's libjs-dygraphs).
        public var chartLibraryFolder: String
        /// Most bytes of a request body.
        public var maximumRequestBytes: Int
        /// How often an idle event stream gets a comment line, so that a client that went away is
        /// noticed and its call cancelled.
        public var keepAliveInterval: Duration

        /// Creates a configuration.
        public init(
            address: GatewayAddress,
            token: DashboardToken,
            assetsFolder: String? = nil,
            chartLibraryFolder: String = "/usr/share/javascript/dygraphs",
            maximumRequestBytes: Int = 32 << 20,
            keepAliveInterval: Duration = .seconds(15)
        ) {
            self.address = address
            self.token = token
            self.assetsFolder = assetsFolder
            self.chartLibraryFolder = chartLibraryFolder
            self.maximumRequestBytes = maximumRequestBytes
            self.keepAliveInterval = keepAliveInterval
        }
    }

    /// How many ports above a default one that is taken are tried before letting the system choose.
    static let fallbackPorts = 10

    let configuration: Configuration
    let methods: GatewayMethods
    let runner: GatewayCallRunner
    let logger: Logger
    /// Where the binding stands, for ``waitUntilBound()``.
    private enum Binding {
        case waiting([CheckedContinuation<GatewayAddress?, any Error>])
        case bound(GatewayAddress)
        case stopped
        case failed(any Error)
    }

    private let binding = Mutex<Binding>(.waiting([]))
    private let lifecycle = Mutex<(stop: AsyncStream<Void>.Continuation?, stopping: Bool)>((nil, false))

    /// Creates a gateway for `router`'s methods.
    public init(configuration: Configuration, router: RPCRouter, logger: Logger) {
        self.configuration = configuration
        self.methods = GatewayMethods(router: router)
        self.runner = GatewayCallRunner(logger: logger)
        self.logger = logger
    }

    /// The address it listens on once bound (the port the system chose for port 0).
    public var boundAddress: GatewayAddress? {
        binding.withLock { state in
            if case .bound(let address) = state { return address }
            return nil
        }
    }

    /// The dashboard's URL with the token, once bound.
    public var dashboardURL: String? {
        boundAddress.map { Self.url(for: $0, token: configuration.token) }
    }

    /// `http://HOST:PORT/?token=…`.
    public static func url(for address: GatewayAddress, token: DashboardToken) -> String {
        var host = address.host
        if host == "0.0.0.0" { host = "127.0.0.1" } else if host == "::" { host = "::1" }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "http://\(hostPart):\(address.port)/?token=\(token.value)"
    }

    /// Stops taking connections and ends ``run()`` once the requests in flight are answered
    /// (streams end when their calls do: the daemon ends its watchers when it shuts down).
    public func beginShutdown() {
        let stop = lifecycle.withLock { state in
            state.stopping = true
            return state.stop
        }
        stop?.yield()
        stop?.finish()
    }

    /// Serves until ``beginShutdown()`` (or a graceful shutdown of an enclosing service group, or
    /// cancellation).
    /// - Throws: ``GatewayError`` `bindFailed` when the address cannot be bound (for the default
    ///   address: when no port near it, nor one the system chooses, can be).
    public func run() async throws {
        var address = configuration.address
        var attempt = 0
        while true {
            do {
                try await serve(on: address)
                // Stopped before it listened: nobody waits for it any more.
                settle(.success(nil))
                return
            } catch {
                let wasBound = boundAddress != nil
                if wasBound || Task.isCancelled {
                    settle(.failure(error))
                    throw error
                }
                guard address.isDefault, attempt <= Self.fallbackPorts else {
                    let failure = GatewayError(code: .bindFailed, message: "the dashboard cannot listen on \(address): \(error)", cause: error)
                    settle(.failure(failure))
                    throw failure
                }
                attempt += 1
                let next = attempt > Self.fallbackPorts ? 0 : configuration.address.port + attempt
                logger.notice("dashboard port taken, trying another", metadata: ["address": "\(address)", "next": "\(next)"])
                address.port = next
            }
        }
    }

    /// Waits until the gateway listens; returns where, or `nil` when it was stopped first.
    /// - Throws: The error that kept it from listening.
    public func waitUntilBound() async throws -> GatewayAddress? {
        try await withCheckedThrowingContinuation { continuation in
            let outcome: Result<GatewayAddress?, any Error>? = binding.withLock { state in
                switch state {
                case .waiting(var waiters):
                    waiters.append(continuation)
                    state = .waiting(waiters)
                    return nil
                case .bound(let address): return .success(address)
                case .stopped: return .success(nil)
                case .failed(let error): return .failure(error)
                }
            }
            if let outcome { continuation.resume(with: outcome) }
        }
    }

    /// Settles the binding once: bound, stopped before binding, or failed; resumes the waiters.
    private func settle(_ outcome: Result<GatewayAddress?, any Error>) {
        let waiters = binding.withLock { state -> [CheckedContinuation<GatewayAddress?, any Error>] in
            guard case .waiting(let waiters) = state else { return [] }
            switch outcome {
            case .success(let address?): state = .bound(address)
            case .success(nil): state = .stopped
            case .failure(let error): state = .failed(error)
            }
            return waiters
        }
        for waiter in waiters { waiter.resume(with: outcome) }
    }

    private func markBound(_ address: GatewayAddress) {
        settle(.success(address))
        if !address.isLoopback {
            logger.warning("the dashboard listens on a non-loopback address: anyone who can reach it and has the token can use it", metadata: ["address": "\(address)"])
        }
        logger.info("dashboard listening", metadata: ["address": "\(address)"])
    }

    private func serve(on address: GatewayAddress) async throws {
        // Hummingbird's own logging: its shutdown reports cancelled idle connections at error
        // level, and its other messages repeat what this type logs (listening, bind failures,
        // which it throws). What a call does is logged by ServerCallRunner on `logger`.
        var serverLogger = logger
        serverLogger.logLevel = .critical
        let logger = serverLogger
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: GatewayAuthMiddleware(token: configuration.token))
        let assets = configuration.assetsFolder ?? Self.builtInAssetsFolder
        if let assets {
            router.add(middleware: FileMiddleware(assets, urlBasePath: "/assets", searchForIndexHtml: false, logger: logger))
        }
        router.add(middleware: FileMiddleware(configuration.chartLibraryFolder, urlBasePath: "/vendor/dygraphs", searchForIndexHtml: false, logger: logger))
        router.get("/") { [logger = self.logger] _, _ -> Response in
            guard let assets, let page = FileManager.default.contents(atPath: assets + "/index.html") else {
                logger.error("the dashboard's files are missing", metadata: ["folder": "\(assets ?? "(none)")"])
                return Response(status: .internalServerError, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "the dashboard's files are missing from this build\n")))
            }
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"], body: .init(byteBuffer: ByteBuffer(bytes: page)))
        }
        router.get("/api/methods") { [methods] _, _ -> Response in
            Self.json(methods.listing, status: .ok)
        }
        router.post("/api/:service/:method") { request, context -> Response in
            let body = try await request.body.collect(upTo: self.configuration.maximumRequestBytes)
            return await self.respond(
                service: context.parameters.get("service") ?? "",
                method: context.parameters.get("method") ?? "",
                body: Array(buffer: body)
            )
        }
        router.get("/api/:service/:method") { request, context -> Response in
            let text = request.uri.queryParameters.get("request") ?? ""
            return await self.respond(
                service: context.parameters.get("service") ?? "",
                method: context.parameters.get("method") ?? "",
                body: Array(text.utf8)
            )
        }
        let bindAddress = address
        let application = Application(
            router: router,
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: "tally"),
            onServerRunning: { channel in
                var actual = bindAddress
                if let port = channel.localAddress?.port { actual.port = port }
                self.markBound(actual)
            },
            logger: serverLogger
        )
        // In a service group of its own, so that ``beginShutdown()`` can stop it gracefully.
        let group = ServiceGroup(configuration: .init(services: [application], logger: logger))
        let (stopRequests, stop) = AsyncStream<Void>.makeStream()
        let stopping = lifecycle.withLock { state in
            state.stop = stop
            return state.stopping
        }
        if stopping { return }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask {
                for await _ in stopRequests {
                    await group.triggerGracefulShutdown()
                    return
                }
            }
            // The server's group ends after a stop request, or on its own with an error.
            try await tasks.next()
            tasks.cancelAll()
        }
    }

    /// The dashboard's files as built into the package's resources.
    static var builtInAssetsFolder: String? {
        Bundle.module.url(forResource: "Dashboard", withExtension: nil)?.path
    }

    // MARK: Calls

    /// A call: server-streaming methods answer events whatever the request's `Accept` says.
    func respond(service: String, method: String, body: [UInt8]) async -> Response {
        let entry: GatewayMethods.Entry
        switch methods.lookup(service: service, method: method) {
        case .success(let found): entry = found
        case .failure(let error): return Self.failure(error)
        }
        let requests: [[UInt8]]
        do {
            requests = try runner.decodeRequests(body, for: entry.schema)
        } catch {
            return Self.failure(error)
        }
        if entry.schema.descriptor.kind == .serverStreaming {
            return events(entry, requests: requests)
        }
        switch await runner.collect(entry, requests: requests) {
        case .success(let json): return Self.json(json, status: .ok)
        case .failure(let error): return Self.failure(error)
        }
    }

    /// One event of a stream as it goes out.
    private enum StreamEvent: Sendable {
        case message(JSONValue)
        case keepAlive
        case end(RPCError?)
    }

    /// A server-streaming call as Server-Sent Events: a `data:` event per response, then an
    /// `end` event with the call's status. The handler runs while the body is written, through a
    /// channel that holds one event: it waits for the HTTP side. If the client goes away, the next
    /// write fails (an idle stream writes a comment line every ``Configuration/keepAliveInterval``)
    /// and the call is cancelled.
    private func events(_ entry: GatewayMethods.Entry, requests: [[UInt8]]) -> Response {
        let runner = self.runner
        let keepAlive = configuration.keepAliveInterval
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-store", HTTPField.Name("X-Accel-Buffering")!: "no"]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            let channel = AsyncChannel<StreamEvent>()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    let status = await runner.stream(entry, requests: requests) { json in
                        await channel.send(.message(json))
                        try Task.checkCancellation()
                    }
                    await channel.send(.end(status))
                    channel.finish()
                }
                group.addTask {
                    while true {
                        try await Task.sleep(for: keepAlive)
                        await channel.send(.keepAlive)
                    }
                }
                defer { group.cancelAll() }
                for await event in channel {
                    switch event {
                    case .message(let json):
                        try await writer.write(ByteBuffer(string: "data: \(json.serialized(pretty: false))\n\n"))
                    case .keepAlive:
                        try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                    case .end(let status):
                        let json = status?.gatewayJSON ?? RPCError.okJSON
                        try await writer.write(ByteBuffer(string: "event: end\ndata: \(json.serialized(pretty: false))\n\n"))
                        return
                    }
                }
            }
            try await writer.finish(nil)
        })
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: value.serialized(pretty: false)))
        )
    }

    static func failure(_ error: RPCError) -> Response {
        json(error.gatewayJSON, status: HTTPResponse.Status(code: error.code.httpStatus))
    }
}
