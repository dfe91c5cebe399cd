import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TallyGateway
import TallyServer
import TallyTransport
import UnixSignals

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon in the foreground.",
        discussion: """
            Socket: --socket, else $TALLY_SOCKET, else $XDG_RUNTIME_DIR/tally/tally.sock, else ~/.tally/run/tally.sock.
            Data:   --home, else $TALLY_HOME, else $XDG_DATA_HOME/tally, else ~/.local/share/tally.
            SIGINT or SIGTERM stops it gracefully: calls in flight finish first.
            """
    )

    @Option(help: "Path of the Unix socket to listen on.")
    var socket: String?

    @Option(help: "Folder of the data (SQLite store and artifacts). A missing one is created 0700; one that other users can write to, or that another user owns, is refused and left as it is.")
    var home: String?

    @Option(help: ArgumentHelp("Where the store is: a postgres://USER@HOST:PORT/DATABASE URL (password from TALLY_PG_PASSWORD or ~/.pgpass; ?sslmode=require for TLS), or, by default, the SQLite file in the home folder. Artifacts stay in the home folder either way (docs/teams.md).", valueName: "url"))
    var store: String?

    @Option(help: ArgumentHelp("Folder of the artifact blobs, instead of the home folder's `artifacts`: a folder every daemon on one PostgreSQL store mounts (docs/teams.md).", valueName: "path"))
    var artifacts: String?

    @Option(name: .customLong("listen"), help: ArgumentHelp("Also listen on TCP, tcp://ADDRESS:PORT (repeatable), with TLS (--tls-cert, --tls-key); clients there need an access token (tally tokens create). docs/teams.md.", valueName: "url"))
    var listen: [String] = []

    @Option(name: .customLong("tls-cert"), help: ArgumentHelp("PEM file of the certificate (and any intermediates) served on --listen addresses.", valueName: "file"))
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("PEM file of the private key of --tls-cert.", valueName: "file"))
    var tlsKey: String?

    @Flag(name: .customLong("insecure-no-tls"), help: "Serve --listen addresses in plaintext, without TLS: only on loopback (127.0.0.1, ::1), for tests and benchmarks.")
    var insecureNoTLS = false

    @Option(name: .customLong("allow-group"), help: "Also allow peers whose primary group id is this gid (they may not manage providers or run command providers).")
    var allowGroup: UInt32?

    @Option(help: "Largest frame payload in bytes.")
    var maxFrameSize: Int = ConnectionLimits().maxFrameSize

    @Option(help: "Most concurrent calls per connection.")
    var maxConcurrentCalls: Int = ConnectionLimits().maxConcurrentCalls

    @Option(help: "Most connections at once; the daemon's own uid may open 8 more.")
    var maxConnections: Int = 1024

    @Option(name: .customLong("idle-timeout"), help: "Close connections idle (no call open, no frame received) for this many seconds; 0 = never.")
    var idleTimeout: Double = 300

    @Option(name: .customLong("heartbeat-timeout"), help: "Mark a run crashed when its writer (a client streaming to it) has been silent for this many seconds; a writer whose connection closes crashes its run at once.")
    var heartbeatTimeout: Double = 60

    @Flag(name: .customLong("handlers-on-event-loop"), help: "Run call handlers on the connections' event loops instead of the global executor (faster small calls; a slow handler stalls other connections).")
    var handlersOnEventLoop = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(help: "Address of the dashboard and HTTP gateway, HOST:PORT, or off. The default, 127.0.0.1:7311, moves to a free port near it when taken; a port given here must be free (0: any free port). Requests need the token `tally ui` prints.")
    var http: String?

    @Option(name: .customLong("ready-fd"), help: "Once the daemon serves (socket and dashboard listening), write `ready SOCKET` and a newline to this inherited file descriptor and close it; a daemon that fails to start closes it without writing. For scripts and clients that start the daemon.")
    var readyFD: Int32?

    @Option(name: .customLong("dashboard-assets"), help: "Serve the dashboard's files from this folder instead of the copy built with the binary (for working on them: Sources/TallyGateway/Dashboard).")
    var dashboardAssets: String?

    func run() async throws {
        // Everything the daemon creates (store, artifacts, keys, socket) is for its user only.
        umask(0o077)
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "tally.daemon")
        var configuration = DaemonConfiguration.resolve(
            environment: ProcessInfo.processInfo.environment,
            socket: socket,
            home: home
        )
        configuration.allowedGroupID = allowGroup
        configuration.artifactFolder = artifacts.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        configuration.tcpListeners = try Self.tcpListeners(listen, cert: tlsCert, key: tlsKey, insecure: insecureNoTLS)
        configuration.storeURL = store ?? ProcessInfo.processInfo.environment["TALLY_STORE"].flatMap { $0.isEmpty ? nil : $0 }
        configuration.maxConnections = maxConnections
        configuration.limits.maxFrameSize = maxFrameSize
        configuration.limits.maxConcurrentCalls = maxConcurrentCalls
        guard (1024...ConnectionLimits.protocolMaxFrameSize).contains(maxFrameSize) else {
            throw ValidationErrorMessage(message: "--max-frame-size must be between 1024 and \(ConnectionLimits.protocolMaxFrameSize)")
        }
        guard maxConcurrentCalls >= 1, maxConnections >= 1 else {
            throw ValidationErrorMessage(message: "--max-concurrent-calls and --max-connections must be at least 1")
        }
        guard idleTimeout.isFinite, idleTimeout >= 0, idleTimeout <= 1e9 else {
            throw ValidationErrorMessage(message: "--idle-timeout must be a number of seconds, 0 or more")
        }
        configuration.limits.idleTimeout = idleTimeout == 0 ? nil : .milliseconds(Int64((idleTimeout * 1000).rounded(.up)))
        configuration.limits.handlerExecutor = handlersOnEventLoop ? .eventLoop : .global
        guard heartbeatTimeout.isFinite, heartbeatTimeout >= 0.05, heartbeatTimeout <= 1e7 else {
            throw ValidationErrorMessage(message: "--heartbeat-timeout must be a number of seconds, at least 0.05")
        }
        configuration.heartbeatTimeout = .milliseconds(Int64((heartbeatTimeout * 1000).rounded(.up)))
        do {
            configuration.http = try http.map { try GatewayAddress.parse($0) } ?? .default
            configuration.dashboardAssetsFolder = dashboardAssets.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        } catch let error as GatewayError {
            throw ValidationErrorMessage(message: error.message)
        }

        if let readyFD {
            guard readyFD > 2, fcntl(readyFD, F_GETFD) != -1 else {
                throw ValidationErrorMessage(message: "--ready-fd \(readyFD) is not an open file descriptor above 2")
            }
            // Not passed on to the commands jobs run.
            _ = fcntl(readyFD, F_SETFD, FD_CLOEXEC)
        }
        let daemon = TallyDaemon(configuration: configuration, logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: daemon)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        let announce = Task {
            do {
                try await daemon.waitUntilReady()
            } catch {
                return
            }
            var banner = "tally \(TallyDaemon.version) listening on \(configuration.socketPath)\n"
            for url in daemon.listenURLs {
                banner += "  listen:    \(url)\n"
            }
            banner += """
                  store:     \(configuration.storeDescription)
                  artifacts: \(configuration.artifactPath)

                """
            if let url = daemon.dashboardURL {
                // The token stays out of the banner (it may end up in a log others read).
                banner += "  dashboard: \(url.prefix { $0 != "?" }) (`tally ui` prints the URL with its token)\n"
            }
            FileHandle.standardOutput.write(Data(banner.utf8))
            if let readyFD {
                let line = Array("ready \(configuration.socketPath)\n".utf8)
                _ = line.withUnsafeBytes { write(readyFD, $0.baseAddress, $0.count) }
                close(readyFD)
            }
        }
        do {
            try await group.run()
        } catch let error as DaemonError {
            announce.cancel()
            throw ValidationErrorMessage(message: error.message)
        } catch {
            announce.cancel()
            throw ValidationErrorMessage(message: "\(error)")
        }
    }
}

extension Serve {
    /// The `--listen` addresses, checked: TLS files for each, or plaintext on loopback only.
    static func tcpListeners(_ urls: [String], cert: String?, key: String?, insecure: Bool) throws -> [TCPListenAddress] {
        if urls.isEmpty {
            guard cert == nil, key == nil, !insecure else {
                throw ValidationErrorMessage(message: "--tls-cert, --tls-key and --insecure-no-tls apply to --listen addresses; none was given")
            }
            return []
        }
        let tls: TLSFiles?
        switch (cert, key, insecure) {
        case (let cert?, let key?, false):
            tls = TLSFiles(
                certificateChain: URL(fileURLWithPath: cert).standardizedFileURL.path,
                privateKey: URL(fileURLWithPath: key).standardizedFileURL.path
            )
        case (nil, nil, true):
            tls = nil
        case (_, _, true):
            throw ValidationErrorMessage(message: "--insecure-no-tls serves without TLS: give it without --tls-cert and --tls-key")
        default:
            throw ValidationErrorMessage(message: "--listen needs --tls-cert and --tls-key (or, on loopback only, --insecure-no-tls)")
        }
        return try urls.map { url in
            guard url.hasPrefix("tcp://") else {
                throw ValidationErrorMessage(message: "--listen takes tcp://ADDRESS:PORT; got \(url)")
            }
            let host: String
            let port: Int
            do {
                (host, port) = try DaemonAddress.hostAndPort(String(url.dropFirst("tcp://".count)), url: url, allowingPortZero: true)
            } catch let error as DaemonAddressError {
                throw ValidationErrorMessage(message: "--listen: \(error.reason); got \(url)")
            }
            return try listener(host: host, port: port, tls: tls)
        }
    }

    private static func listener(host: String, port: Int, tls: TLSFiles?) throws -> TCPListenAddress {
        let address = TCPListenAddress(host: host, port: port, tls: tls)
        if tls == nil && !address.isLoopback {
            throw ValidationErrorMessage(message: "--insecure-no-tls is for loopback addresses only (127.0.0.1, ::1); \(host) would send tokens and data in the clear")
        }
        return address
    }
}

/// An error whose message is shown as is, with exit code 1.
struct ValidationErrorMessage: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
