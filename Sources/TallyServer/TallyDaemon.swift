import Foundation
public import Logging
public import ServiceLifecycle
import TallyAPI
import TallyGateway
import TallyPostgres
import TallyRPC
import TallyServices
import TallyStore
import TallyTransport
import Synchronization

/// The Tally daemon: the store, the services and the socket server, as one service with a
/// graceful shutdown.
///
/// On a graceful shutdown (SIGINT or SIGTERM through a `ServiceGroup`, or ``shutdown()``) it stops
/// accepting connections, sends every connection a GOAWAY, lets calls in flight finish, closes
/// the store, and removes its socket.
public final class TallyDaemon: Service, Sendable {
    /// The daemon's version.
    public static let version = "0.1.0"

    /// The configuration it was started with.
    public let configuration: DaemonConfiguration
    private let logger: Logger
    private let state = Mutex<RunState>(RunState())

    private struct RunState {
        var transport: TransportServer?
        var tcpTransports: [TransportServer] = []
        var gateway: HTTPGateway?
        var stopServices: (@Sendable () -> Void)?
        var shutdownRequested = false
        var readyWaiters: [CheckedContinuation<Void, any Error>] = []
        var ready = false
        var failure: (any Error)?
    }

    /// Creates a daemon; nothing happens until ``run()``.
    /// - Parameters:
    ///   - configuration: Paths and limits.
    ///   - logger: The root logger.
    public init(configuration: DaemonConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Takes the socket, opens the store, serves until shut down, then cleans up.
    /// - Throws: ``DaemonError`` when another daemon holds the socket or a folder cannot be set up;
    ///   store errors when the store cannot be opened.
    public func run() async throws {
        do {
            try await serve()
        } catch {
            let waiters = state.withLock { state in
                state.failure = error
                defer { state.readyWaiters.removeAll() }
                return state.readyWaiters
            }
            for waiter in waiters { waiter.resume(throwing: error) }
            throw error
        }
    }

    /// Makes the data folder private to the daemon's user: the home (when it is Tally's own, see
    /// ``HomeFolder``), store and artifact folders 0700, the store's files 0600 (SQLite gives its
    /// WAL and shared-memory files the mode of the database file). Folders made by an earlier
    /// version with wider modes are narrowed too.
    private func restrictPermissions(home: HomeFolder.Ownership) {
        let store = configuration.storePath
        var folders = [configuration.artifactPath]
        if home == .tallys { folders += [configuration.homeDirectory, (store as NSString).deletingLastPathComponent] }
        for folder in Set(folders) where !folder.isEmpty {
            chmod(folder, 0o700)
        }
        for file in [store, store + "-wal", store + "-shm"] where FileManager.default.fileExists(atPath: file) {
            chmod(file, 0o600)
        }
    }

    private func serve() async throws {
        // Checked before the socket's files are made, which may be inside it.
        let home = try HomeFolder.prepare(configuration.homeDirectory, logger: logger)
        let lock = try SocketLock(socketPath: configuration.socketPath, groupID: configuration.allowedGroupID)
        defer { lock.release() }
        do {
            try FileManager.default.createDirectory(atPath: configuration.artifactPath, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw DaemonError(code: .setupFailed, message: "cannot create \(configuration.artifactPath): \(error)", cause: error)
        }
        guard let storeURL = configuration.storeURL else {
            let store = try Store(path: configuration.storePath, logger: logger)
            restrictPermissions(home: home)
            defer {
                do { try store.close() } catch { logger.error("closing the store failed", metadata: ["error": "\(error)"]) }
            }
            try await serve(store: store)
            return
        }
        restrictPermissions(home: home)
        let url = try PostgresURL(storeURL)
        let store = PostgresStore(url: url, password: PostgresPassword.resolve(for: url), logger: logger)
        // The connection pool is a child task for as long as the daemon serves.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.run() }
            defer { group.cancelAll() }
            try await store.migrate()
            logger.info("store open", metadata: ["store": "\(url)"])
            try await serve(store: store)
        }
    }

    private func serve(store: any StoreEngine) async throws {

        let transportConfiguration = TransportServerConfiguration(
            socketPath: configuration.socketPath,
            limits: configuration.limits,
            maxConnections: configuration.maxConnections,
            peerPolicy: PeerPolicy(ownerUID: PeerPolicy.currentUser.ownerUID, allowedGroupID: configuration.allowedGroupID),
            serverName: "tally/\(Self.version)",
            shutdownGracePeriod: configuration.shutdownGracePeriod
        )
        let statsBox = Mutex<[TransportStats]>([])
        let gatewayBox = Mutex<HTTPGateway?>(nil)
        let listenBox = Mutex<[String]>([])
        let status = DaemonStatus(
            version: Self.version,
            socketPath: configuration.socketPath,
            storePath: configuration.storeDescription,
            artifactPath: configuration.artifactPath,
            startedAtMs: Int64(Date().timeIntervalSince1970 * 1000),
            counters: {
                let stats = statsBox.withLock { $0 }
                return (stats.reduce(0) { $0 + $1.openConnections }, stats.reduce(0) { $0 + $1.callsInFlight })
            },
            dashboardURL: { gatewayBox.withLock { $0 }?.dashboardURL },
            listenURLs: { listenBox.withLock { $0 } }
        )
        let tokens = TokenBook(store: store, logger: logger, refreshInterval: configuration.tokenRefreshInterval)
        do {
            try await tokens.reload()
        } catch {
            throw DaemonError(code: .setupFailed, message: "cannot read the access tokens: \(error)", cause: error)
        }
        var router = RPCRouter()
        SystemProvider(status: status, store: store, tokens: tokens, protocolVersion: ProtocolVersion.current).registerMethods(with: &router)
        DiagnosticsProvider().registerMethods(with: &router)
        let blobs: any BlobStore
        do {
            blobs = try FolderBlobStore(directory: configuration.artifactPath)
        } catch {
            throw DaemonError(code: .setupFailed, message: "cannot open the artifact store at \(configuration.artifactPath): \(error)", cause: error)
        }
        let tracking = TrackingProvider(store: store, blobs: blobs, heartbeatTimeout: configuration.heartbeatTimeout, logger: logger)
        tracking.register(with: &router)
        let experiments: ExperimentsProvider
        do {
            experiments = try ExperimentsProvider(
                store: store,
                blobs: blobs,
                keyFile: configuration.homeDirectory + "/secret.key",
                workers: configuration.jobWorkers,
                // The same daemon restarted (same host, same socket) takes its own jobs back at once.
                leases: JobLeaseSettings(owner: "\(ProcessInfo.processInfo.hostName):\(configuration.socketPath)", duration: configuration.jobLeaseDuration),
                logger: logger
            )
        } catch {
            throw DaemonError(code: .setupFailed, message: "cannot set up the experiment service: \(error)", cause: error)
        }
        experiments.registerMethods(with: &router)
        // Events committed through other daemons on the same store reach this one's watchers.
        let relay = ChangeRelay.make(store: store, tracking: tracking, experiments: experiments, tokens: tokens, logger: logger)
        // Who may call what (docs/teams.md): checked before any handler runs, on every transport.
        router.requireRoles(MethodRoles.table)

        let transport = TransportServer(configuration: transportConfiguration, router: router, logger: logger)
        let tcpTransports = configuration.tcpListeners.map { address in
            var tcpConfiguration = transportConfiguration
            tcpConfiguration.tcp = TCPListener(host: address.host, port: address.port, tls: address.tls) { token in
                tokens.authenticate(token, nowMs: Identifiers.nowMs())
            }
            return TransportServer(configuration: tcpConfiguration, router: router, logger: logger)
        }
        // A revoked or expired token loses its open connections at the next reload: at once for a
        // change made through any daemon of the store, else within the refresh interval.
        tokens.onReload { [weak tokens] in
            guard let tokens else { return }
            let now = Identifiers.nowMs()
            let error = ConnectionError(code: .unauthenticated, message: "the access token was revoked or has expired")
            for tcp in tcpTransports {
                tcp.closeConnections(authenticatedAs: { !tokens.isCurrent($0, nowMs: now) }, error: error)
            }
        }
        statsBox.withLock { $0 = [transport.stats] + tcpTransports.map(\.stats) }
        let gateway = try makeGateway(router: router)
        gatewayBox.withLock { $0 = gateway }
        let stopEarly = state.withLock { state in
            state.transport = transport
            state.tcpTransports = tcpTransports
            state.gateway = gateway
            // Ends the run watchers' streams so that their calls end; the jobs and the metric
            // ingest stop below, once the transport has stopped, in this task's own order.
            state.stopServices = {
                tracking.shutdown()
                experiments.closeWatchers()
            }
            return state.shutdownRequested
        }
        if stopEarly { return }
        try await experiments.start()
        let journals = configuration.deliverJournals
            ? JournalCollector(folder: configuration.journalPath, router: router, logger: logger) : nil

        // The long-lived work is children of this task: the metric ingest loop and the jobs beside
        // the transport. Shutdown waits for each by construction: the transport lets calls in flight
        // finish, then the jobs are interrupted (and left to resume), then the ingest loop
        // commits what the finished calls queued and returns.
        try await withThrowingTaskGroup(of: Void.self) { services in
            services.addTask { await tracking.run() }
            services.addTask { await experiments.run() }
            services.addTask { await tokens.run() }
            if let relay {
                services.addTask { await relay.run() }
            }
            if let journals {
                services.addTask { await journals.run() }
            }
            let served: Result<Void, any Error>
            do {
                try await withGracefulShutdownHandler {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask { try await transport.run() }
                        try await transport.waitUntilBound()
                        // TCP listeners stop with the socket, as the gateway does.
                        var listening: [String] = []
                        for (tcp, address) in zip(tcpTransports, self.configuration.tcpListeners) {
                            group.addTask { try await tcp.run() }
                            try await tcp.waitUntilBound()
                            listening.append(address.url(port: tcp.boundPort))
                        }
                        listenBox.withLock { $0 = listening }
                        if let gateway {
                            // The HTTP side stops with the socket: when the transport's run
                            // returns (its calls finished), the gateway's task is cancelled.
                            group.addTask { try await gateway.run() }
                            _ = try await gateway.waitUntilBound()
                        }
                        self.markReady()
                        // The transport returns once shut down; the gateway was told to stop
                        // by the same shutdown and ends when its requests are answered.
                        try await group.next()
                        for tcp in tcpTransports { tcp.beginShutdown() }
                        gateway?.beginShutdown()
                        try await group.waitForAll()
                    }
                } onGracefulShutdown: {
                    self.shutdown()
                }
                served = .success(())
            } catch {
                served = .failure(error)
            }
            logger.info("connections closed; stopping the jobs and the ingest")
            journals?.stop()
            tokens.stop()
            relay?.stop()
            tracking.shutdown()
            await experiments.shutdown()
            tracking.finishIngest()
            try await services.waitForAll()
            try served.get()
        }
        logger.info("daemon stopped")
    }

    /// The HTTP gateway, when ``DaemonConfiguration/http`` asks for one: its token is read from
    /// (or made in) the home folder.
    private func makeGateway(router: RPCRouter) throws -> HTTPGateway? {
        guard let address = configuration.http else { return nil }
        let token: DashboardToken
        do {
            token = try DashboardToken.loadOrCreate(inFolder: configuration.homeDirectory)
        } catch {
            throw DaemonError(code: .setupFailed, message: "cannot set up the dashboard: \(error)", cause: error)
        }
        let gatewayConfiguration = HTTPGateway.Configuration(
            address: address,
            token: token,
            assetsFolder: configuration.dashboardAssetsFolder,
            chartLibraryFolder: configuration.chartLibraryFolder
        )
        return HTTPGateway(configuration: gatewayConfiguration, router: router, logger: logger)
    }

    /// The TCP addresses listened on, with the ports bound, once listening.
    public var listenURLs: [String] {
        let transports = state.withLock { $0.tcpTransports }
        return zip(transports, configuration.tcpListeners).map { $1.url(port: $0.boundPort) }
    }

    /// The dashboard's URL with its token, once it listens.
    public var dashboardURL: String? {
        state.withLock { $0.gateway }?.dashboardURL
    }

    /// Starts a graceful shutdown.
    public func shutdown() {
        let (transport, tcpTransports, gateway, stopServices) = state.withLock { state in
            state.shutdownRequested = true
            return (state.transport, state.tcpTransports, state.gateway, state.stopServices)
        }
        logger.info("shutting down: no new connections; calls in flight finish")
        stopServices?()
        transport?.beginShutdown()
        for tcp in tcpTransports { tcp.beginShutdown() }
        gateway?.beginShutdown()
    }

    /// Waits until the socket accepts connections.
    /// - Throws: The error that stopped the daemon from starting.
    public func waitUntilReady() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let outcome: Result<Void, any Error>? = state.withLock { state in
                if let failure = state.failure { return .failure(failure) }
                if state.ready { return .success(()) }
                state.readyWaiters.append(continuation)
                return nil
            }
            if let outcome { continuation.resume(with: outcome) }
        }
    }

    private func markReady() {
        let waiters = state.withLock { state in
            state.ready = true
            defer { state.readyWaiters.removeAll() }
            return state.readyWaiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
