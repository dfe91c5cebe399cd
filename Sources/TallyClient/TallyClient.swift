public import Logging
public import TallyAPI
import TallyRPC
public import TallyTransport

/// A client of the Tally daemon: one connection, typed clients for every service.
///
/// ```swift
/// let client = try await TallyClient.connect()
/// let info = try await client.system.info()
/// await client.close()
/// ```
public struct TallyClient: Sendable {
    /// The connection every call goes through.
    public let connection: ClientConnection
    /// `tally.v1.System`.
    public var system: SystemClient { SystemClient(transport: connection) }
    /// `tally.v1.Tracking`.
    public var tracking: TrackingClient { TrackingClient(transport: connection) }
    /// `tally.v1.Diagnostics`.
    public var diagnostics: DiagnosticsClient { DiagnosticsClient(transport: connection) }
    /// `tally.v1.Experiments`.
    public var experiments: ExperimentsClient { ExperimentsClient(transport: connection) }

    /// Connects to the daemon.
    ///
    /// Where: `url` when given, else `socketPath`, else `$TALLY_URL` (`unix:///PATH`,
    /// `tally+tls://HOST:PORT`, `tally+tcp://HOST:PORT`), else the default socket
    /// (`$TALLY_SOCKET`, else the per-user path). On TCP the access token (`token`, else
    /// `$TALLY_TOKEN`) is required, and TLS trusts the CAs of `caFile` (else `$TALLY_CA`), else
    /// the system's.
    /// - Parameters:
    ///   - url: A daemon URL.
    ///   - socketPath: The daemon's socket, when no URL is given.
    ///   - token: An access token (docs/teams.md).
    ///   - caFile: A PEM file of CAs to trust for TLS.
    ///   - clientName: Name sent in the handshake.
    ///   - environment: Where the defaults come from, and `TALLY_DAEMON_UID`: one more daemon
    ///     uid to trust besides this user's and root (a daemon of any other uid is refused with
    ///     PERMISSION_DENIED before anything is sent).
    ///   - logger: Logger for connection events.
    /// - Returns: A connected client.
    /// - Throws: ``RPCError`` UNAVAILABLE naming the address (and, for the socket, the command
    ///   that starts a daemon); INVALID_ARGUMENT for a malformed URL; PERMISSION_DENIED naming
    ///   the daemon's uid when it runs as an untrusted user; UNAUTHENTICATED for a missing or
    ///   refused token on TCP.
    public static func connect(
        url: String? = nil,
        socketPath: String? = nil,
        token: String? = nil,
        caFile: String? = nil,
        clientName: String = "tally-swift",
        environment: [String: String] = TallyClient.processEnvironment,
        logger: Logger = Logger(label: "tally.client")
    ) async throws -> TallyClient {
        let address = try Self.address(url: url, socketPath: socketPath, environment: environment)
        var configuration = ClientConfiguration(
            address: address,
            token: token ?? environment["TALLY_TOKEN"].flatMap { $0.isEmpty ? nil : $0 },
            caFile: caFile ?? environment["TALLY_CA"].flatMap { $0.isEmpty ? nil : $0 },
            clientName: clientName
        )
        configuration.trustedDaemonUID = ServerIdentity.trustedUID(environment: environment)
        let connection = try await ClientConnection.connect(configuration: configuration, logger: logger)
        return TallyClient(connection: connection)
    }

    /// Where ``connect(url:socketPath:token:caFile:clientName:environment:logger:)`` connects.
    /// - Throws: ``RPCError`` INVALID_ARGUMENT for a malformed URL.
    public static func address(url: String? = nil, socketPath: String? = nil, environment: [String: String] = TallyClient.processEnvironment) throws -> DaemonAddress {
        let text = url ?? (socketPath == nil ? environment["TALLY_URL"].flatMap { $0.isEmpty ? nil : $0 } : nil)
        guard let text else {
            return .unix(socketPath ?? SocketLocation.defaultPath(environment: environment))
        }
        do {
            return try DaemonAddress(url: text)
        } catch {
            throw RPCError(code: .invalidArgument, message: error.description)
        }
    }

    /// Wraps an existing connection.
    public init(connection: ClientConnection) {
        self.connection = connection
    }

    /// A task executor on the connection's event loop: a task that makes many small calls in a
    /// row runs them with the fewest thread wake-ups when it prefers it,
    /// `await withTaskExecutorPreference(client.taskExecutor) { ... }`. Such a task must not
    /// block or compute for long, since it holds up the connection while it runs.
    public var taskExecutor: any TaskExecutor { connection.taskExecutor }

    /// Closes the connection.
    public func close() async {
        await connection.close()
    }
}
