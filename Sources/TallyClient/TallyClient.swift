public import Logging
public import TallyAPI
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
    /// - Parameters:
    ///   - socketPath: The daemon's socket; `nil` for the default (`$TALLY_SOCKET`, else the
    ///     per-user default path).
    ///   - clientName: Name sent in the handshake.
    ///   - environment: Where the default path comes from, and `TALLY_DAEMON_UID`: one more daemon
    ///     uid to trust besides this user's and root (a daemon of any other uid is refused with
    ///     PERMISSION_DENIED before anything is sent).
    ///   - logger: Logger for connection events.
    /// - Returns: A connected client.
    /// - Throws: ``RPCError`` UNAVAILABLE naming the socket and the command that starts a daemon;
    ///   PERMISSION_DENIED naming the daemon's uid when it runs as an untrusted user.
    public static func connect(
        socketPath: String? = nil,
        clientName: String = "tally-swift",
        environment: [String: String] = TallyClient.processEnvironment,
        logger: Logger = Logger(label: "tally.client")
    ) async throws -> TallyClient {
        let path = socketPath ?? SocketLocation.defaultPath(environment: environment)
        let connection = try await ClientConnection.connect(
            configuration: ClientConfiguration(
                socketPath: path,
                clientName: clientName,
                trustedDaemonUID: ServerIdentity.trustedUID(environment: environment)
            ),
            logger: logger
        )
        return TallyClient(connection: connection)
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
