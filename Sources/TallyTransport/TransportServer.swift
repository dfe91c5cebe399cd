public import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
public import TallyRPC
#if canImport(Glibc)
import Glibc
#endif

/// Configuration of the socket server.
public struct TransportServerConfiguration: Sendable {
    /// Path of the Unix socket to listen on. Its directory must exist. Unused when ``tcp`` is set.
    public var socketPath: String
    /// A TCP address to listen on instead of the socket (docs/teams.md); `nil` for the socket.
    public var tcp: TCPListener?
    /// Per-connection limits.
    public var limits: ConnectionLimits
    /// Most connections open at once (default 1024); more are refused with RESOURCE_EXHAUSTED,
    /// except for the daemon's own uid, which may open ``reservedOwnerConnections`` more.
    public var maxConnections: Int
    /// Connections past ``maxConnections`` that only peers with the daemon's own uid may open
    /// (default 8), so that its owner is never locked out by other peers' connections.
    public var reservedOwnerConnections: Int = 8
    /// Who may connect: the daemon's own uid, and optionally one group.
    public var peerPolicy: PeerPolicy
    /// Name and version sent in the handshake ("tally/0.1.0").
    public var serverName: String
    /// How long a graceful shutdown waits for calls in flight before closing their
    /// connections (default 30 s).
    public var shutdownGracePeriod: Duration

    /// Creates a configuration; everything but the socket path has a default.
    public init(
        socketPath: String,
        limits: ConnectionLimits = ConnectionLimits(),
        maxConnections: Int = 1024,
        peerPolicy: PeerPolicy = .currentUser,
        serverName: String = "tally",
        shutdownGracePeriod: Duration = .seconds(30)
    ) {
        self.socketPath = socketPath
        self.limits = limits
        self.maxConnections = maxConnections
        self.peerPolicy = peerPolicy
        self.serverName = serverName
        self.shutdownGracePeriod = shutdownGracePeriod
    }
}

/// Listens on a Unix socket, or on TCP with TLS, and serves the routes of a router to every
/// connection.
public final class TransportServer: Sendable {
    /// The configuration.
    public let configuration: TransportServerConfiguration
    /// Live counters.
    public let stats = TransportStats()
    private let router: RPCRouter
    private let logger: Logger

    private struct State {
        var listener: (any Channel)?
        var connections: [UInt64: ServerConnection] = [:]
        var shuttingDown = false
        var bound: [CheckedContinuation<Void, any Error>] = []
        var isBound = false
        var boundPort: Int?
    }

    private let state = Mutex(State())
    private let acceptErrorLog: AcceptErrorLog
    /// Yields once when a shutdown begins: starts the grace period's timer in ``run()``.
    private let shutdownBegan: AsyncStream<Void>
    private let shutdownContinuation: AsyncStream<Void>.Continuation

    /// Creates a server.
    /// - Parameters:
    ///   - configuration: Socket path and limits.
    ///   - router: The routes to serve.
    ///   - logger: Logger for connection events.
    public init(configuration: TransportServerConfiguration, router: RPCRouter, logger: Logger) {
        self.configuration = configuration
        self.router = router
        self.logger = logger
        self.acceptErrorLog = AcceptErrorLog(logger: logger)
        (shutdownBegan, shutdownContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Binds the socket and serves until ``beginShutdown()`` is called and every connection has
    /// finished its calls.
    /// - Throws: When the socket cannot be bound.
    public func run() async throws {
        let maxFrame = configuration.limits.maxFrameSize
        let listener: NIOAsyncChannel<any Channel, Never>
        do {
            let outboundBuffer = max(configuration.limits.outboundBufferSize, 2)
            let acceptErrors = acceptErrorLog
            let tls = try configuration.tcp?.tls.map(Self.serverContext)
            let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.backlog, value: 512)
                .serverChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        // Runs in front of the AcceptBackoffHandler NIO adds: logs accept failures
                        // (rate-limited) and pauses accepting while descriptors are exhausted.
                        try channel.pipeline.syncOperations.addHandler(AcceptErrorHandler(log: acceptErrors))
                    }
                }
                // Writability, for the frame reader's back-pressure (see BackPressureHandler).
                .childChannelOption(
                    .writeBufferWaterMark,
                    value: ChannelOptions.Types.WriteBufferWaterMark(low: outboundBuffer / 2, high: outboundBuffer)
                )
            let initialize: @Sendable (any Channel) -> EventLoopFuture<any Channel> = { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Nothing is read until the connection is admitted and its handler added.
                    try channel.syncOptions?.setOption(.autoRead, value: false)
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    // While the peer does not read what the server writes, the server stops
                    // reading from it: what its frames make the server answer stays bounded.
                    try channel.pipeline.syncOperations.addHandler(BackPressureHandler())
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxPayloadSize: maxFrame)))
                    // Frames are encoded by each connection's FrameOutbox, in batches.
                    return channel
                }
            }
            if let tcp = configuration.tcp {
                listener = try await bootstrap
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                    .bind(host: tcp.host, port: tcp.port, childChannelInitializer: initialize)
            } else {
                listener = try await bootstrap.bind(unixDomainSocketPath: configuration.socketPath, childChannelInitializer: initialize)
            }
        } catch {
            let waiters = state.withLock { state in
                defer { state.bound.removeAll() }
                return state.bound
            }
            for waiter in waiters { waiter.resume(throwing: error) }
            throw error
        }
        if configuration.tcp == nil {
            _ = chmod(configuration.socketPath, 0o600 | (configuration.peerPolicy.allowedGroupID == nil ? 0 : 0o060))
            if let group = configuration.peerPolicy.allowedGroupID {
                _ = chown(configuration.socketPath, getuid(), group)
            }
        }
        let port = listener.channel.localAddress?.port
        let (stopNow, waiters) = state.withLock { state in
            state.listener = listener.channel
            state.isBound = true
            state.boundPort = port
            defer { state.bound.removeAll() }
            return (state.shuttingDown, state.bound)
        }
        for waiter in waiters { waiter.resume() }
        if stopNow { listener.channel.close(promise: nil) }
        logger.info("listening", metadata: ["address": "\(listenDescription)"])

        try await withThrowingTaskGroup(of: Void.self) { server in
            // The grace period's timer is a child too: it starts when a shutdown begins, and is
            // cancelled once every connection has ended.
            server.addTask { await self.closeLateConnections() }
            try await listener.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in inbound {
                        // Admission and the connection task run on its event loop; its handlers run where
                        // ConnectionLimits.handlerExecutor says (the global executor by default).
                        group.addTask(executorPreference: EventLoopTaskExecutor(connection.eventLoop)) {
                            await self.serve(connection)
                        }
                    }
                }
            }
            server.cancelAll()
        }
        logger.info("stopped listening", metadata: ["address": "\(listenDescription)"])
    }

    /// Once a shutdown has begun and its grace period passed, closes the connections still open,
    /// cancelling their calls. Returns early when cancelled (every connection ended in time).
    private func closeLateConnections() async {
        var began = shutdownBegan.makeAsyncIterator()
        guard await began.next() != nil, !Task.isCancelled else { return }
        do {
            try await Task.sleep(for: configuration.shutdownGracePeriod)
        } catch {
            return
        }
        let remaining = state.withLock { Array($0.connections.values) }
        if !remaining.isEmpty {
            logger.warning("grace period over; closing connections with calls in flight", metadata: ["connections": "\(remaining.count)"])
        }
        for connection in remaining { connection.forceClose() }
    }

    /// What the server listens on, for logs: the socket path, or "tls://HOST:PORT".
    public var listenDescription: String {
        guard let tcp = configuration.tcp else { return configuration.socketPath }
        return TCPListener.url(host: tcp.host, port: boundPort ?? tcp.port, tls: tcp.tls != nil)
    }

    /// The TCP port bound, once bound (the one the system picked for port 0); `nil` for a socket.
    public var boundPort: Int? {
        guard configuration.tcp != nil else { return nil }
        return state.withLock { $0.boundPort }
    }

    /// The TLS context of a listener: TLS 1.3 only, the given certificate chain and key.
    static func serverContext(_ files: TLSFiles) throws -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(files.certificateChain)
        } catch {
            throw ConnectionError(code: .invalidArgument, message: "cannot read the TLS certificate \(files.certificateChain): \(error)")
        }
        guard !chain.isEmpty else {
            throw ConnectionError(code: .invalidArgument, message: "no certificate in \(files.certificateChain)")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: files.privateKey, format: .pem)
        } catch {
            throw ConnectionError(code: .invalidArgument, message: "cannot read the TLS private key \(files.privateKey): \(error)")
        }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv13
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw ConnectionError(code: .invalidArgument, message: "the TLS certificate and key cannot be used together: \(error)")
        }
    }

    /// Waits until the socket is bound (or binding failed).
    public func waitUntilBound() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let ready = state.withLock { state in
                if state.isBound { return true }
                state.bound.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Stops accepting connections and drains the open ones: each gets a GOAWAY, its calls in
    /// flight finish, then it closes. Connections still open after the grace period are closed,
    /// cancelling their calls. ``run()`` returns when all are closed.
    public func beginShutdown() {
        let (listener, connections, first) = state.withLock { state in
            let first = !state.shuttingDown
            state.shuttingDown = true
            return (state.listener, Array(state.connections.values), first)
        }
        listener?.close(promise: nil)
        for connection in connections {
            connection.drain()
        }
        guard first else { return }
        shutdownContinuation.yield()
    }

    /// Closes, with a GOAWAY carrying `error`, every connection authenticated as a caller for
    /// whom `shouldClose` is true; their calls are cancelled.
    /// - Returns: How many connections close.
    @discardableResult
    public func closeConnections(authenticatedAs shouldClose: (Caller) -> Bool, error: ConnectionError) -> Int {
        let connections = state.withLock { Array($0.connections.values) }
        return connections.reduce(0) { count, connection in
            count + (connection.closeIfAuthenticated(as: shouldClose, error: error) ? 1 : 0)
        }
    }

    private func serve(_ channel: any Channel) async {
        if let refusal = await admit(channel) {
            logger.notice("refused connection", metadata: ["reason": "\(refusal)"])
            await refuse(channel, refusal)
            return
        }
        let id = stats.nextConnectionID()
        let policy = configuration.peerPolicy
        // On TCP the caller is who the HELLO's token says; until then, nobody.
        let caller = configuration.tcp != nil ? PeerPolicy.unknownCaller
            : (try? await PeerCredentials.of(channel)).map(policy.caller) ?? PeerPolicy.unknownCaller
        let connection = ServerConnection(
            id: id,
            caller: caller,
            authenticator: configuration.tcp?.authenticate,
            router: router,
            limits: configuration.limits,
            serverName: configuration.serverName,
            logger: logger,
            channel: channel,
            stats: stats
        )
        do {
            try await channel.eventLoop.submit {
                try channel.pipeline.syncOperations.addHandler(ServerFrameHandler(connection: connection))
                try channel.syncOptions?.setOption(.autoRead, value: true)
                channel.read()
            }.get()
        } catch {
            logger.debug("connection ended", metadata: ["error": "\(error)"])
            channel.close(promise: nil)
            return
        }
        let draining = state.withLock { state in
            state.connections[id] = connection
            return state.shuttingDown
        }
        stats.connectionOpened()
        if draining { connection.drain() }
        await connection.run()
        stats.connectionClosed()
        _ = state.withLock { $0.connections.removeValue(forKey: id) }
    }

    /// Sends a refused peer its GOAWAY and closes the connection as soon as the GOAWAY is
    /// written: a refused connection holds no descriptor longer than that. A peer that had
    /// already sent data (its HELLO) may see the connection reset after reading the GOAWAY.
    private func refuse(_ channel: any Channel, _ refusal: ConnectionError) async {
        var goAway = ByteBuffer()
        FrameEncoder().write(ServerConnection.goAwayFrame(refusal, lastCallID: 0), into: &goAway)
        let payload = goAway
        let written = channel.eventLoop.flatSubmit {
            channel.writeAndFlush(payload)
        }
        _ = try? await written.get()
        try? await channel.close()
    }

    /// Checks a new connection against the peer policy and the connection limit.
    private func admit(_ channel: any Channel) async -> ConnectionError? {
        var isOwner = false
        #if os(Linux)
        // On TCP there are no peer credentials: the HELLO's access token decides.
        if configuration.tcp == nil, let provider = channel as? any SocketOptionProvider {
            do {
                let peer: PeerCredentials = try await provider.unsafeGetSocketOption(
                    level: SocketOptionLevel(SOL_SOCKET),
                    name: SocketOptionName(SO_PEERCRED)
                ).get()
                if !configuration.peerPolicy.allows(peer) {
                    return ConnectionError(
                        code: .permissionDenied,
                        message: "uid \(peer.uid) may not use this daemon (it serves uid \(configuration.peerPolicy.ownerUID))"
                    )
                }
                isOwner = peer.uid == configuration.peerPolicy.ownerUID
            } catch {
                return ConnectionError(code: .permissionDenied, message: "cannot read the peer's credentials: \(error)")
            }
        }
        #endif
        let open = stats.openConnections
        let limit = configuration.maxConnections
        if open >= limit && !(isOwner && open < limit + max(configuration.reservedOwnerConnections, 0)) {
            return ConnectionError(
                code: .resourceExhausted,
                message: "too many connections (limit \(configuration.maxConnections))"
            )
        }
        return nil
    }
}
