/// What the System service reports about the running daemon.
public struct DaemonStatus: Sendable {
    /// Daemon version.
    public var version: String
    /// Path of the Unix socket.
    public var socketPath: String
    /// Path of the SQLite store.
    public var storePath: String
    /// Folder of the artifact blobs.
    public var artifactPath: String
    /// Wall-clock start time, unix milliseconds.
    public var startedAtMs: Int64
    /// Monotonic start instant, for the uptime.
    public var startedAt: ContinuousClock.Instant
    /// Live counters: open connections and calls in flight.
    public var counters: @Sendable () -> (connections: Int, calls: Int)
    /// The dashboard's URL with its token once it listens; `nil` while it does not (or is off).
    public var dashboardURL: @Sendable () -> String?
    /// The TCP addresses the daemon listens on besides its socket ("tls://0.0.0.0:7312"), once
    /// listening.
    public var listenURLs: @Sendable () -> [String]

    /// Creates a status.
    public init(
        version: String,
        socketPath: String,
        storePath: String,
        artifactPath: String,
        startedAtMs: Int64,
        startedAt: ContinuousClock.Instant = .now,
        counters: @escaping @Sendable () -> (connections: Int, calls: Int) = { (0, 0) },
        dashboardURL: @escaping @Sendable () -> String? = { nil },
        listenURLs: @escaping @Sendable () -> [String] = { [] }
    ) {
        self.listenURLs = listenURLs
        self.dashboardURL = dashboardURL
        self.version = version
        self.socketPath = socketPath
        self.storePath = storePath
        self.artifactPath = artifactPath
        self.startedAtMs = startedAtMs
        self.startedAt = startedAt
        self.counters = counters
    }
}
