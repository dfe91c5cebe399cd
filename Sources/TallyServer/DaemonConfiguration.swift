public import TallyGateway
public import TallyTransport

/// Everything `tally serve` can be told. Every field has a default.
public struct DaemonConfiguration: Sendable {
    /// Path of the Unix socket.
    public var socketPath: String
    /// Folder of the data: the SQLite file and the artifact blobs.
    public var homeDirectory: String
    /// Per-connection limits.
    public var limits: ConnectionLimits
    /// Most connections at once.
    public var maxConnections: Int
    /// A group (by primary gid) allowed besides the daemon's own user; `nil` for none.
    public var allowedGroupID: UInt32?
    /// How long a graceful shutdown waits for calls in flight (default 30 s).
    public var shutdownGracePeriod: Duration = .seconds(30)
    /// Background jobs running at once (default 2).
    public var jobWorkers = 2
    /// How long a job's lease lasts without renewal (default 30 s): a job of a daemon that died
    /// is taken over by another daemon on the same store once its lease expires.
    public var jobLeaseDuration: Duration = .seconds(30)
    /// How long a run's writer may stay silent (no batch, no heartbeat) before the run is
    /// marked crashed (default 60 s).
    public var heartbeatTimeout: Duration = .seconds(60)
    /// Deliver the journals of clients that could not reach the daemon (`<home>/journal`) at
    /// start (default on).
    public var deliverJournals = true
    /// Where the dashboard and HTTP gateway listen; `nil` (the default here) for no HTTP at all.
    /// `tally serve` sets ``GatewayAddress/default`` unless told `--http off`.
    public var http: GatewayAddress?
    /// Folder of the chart library the dashboard serves (Debian's libjs-dygraphs).
    public var chartLibraryFolder = "/usr/share/javascript/dygraphs"
    /// Folder of the dashboard's own files; `nil` for the copy built with the binary. Pointing it
    /// at `Sources/TallyGateway/Dashboard` serves edits without a rebuild.
    public var dashboardAssetsFolder: String?
    /// TCP addresses to listen on beside the socket (`--listen`), each with TLS or, on loopback
    /// only, plaintext (docs/teams.md). Clients there need an access token.
    public var tcpListeners: [TCPListenAddress] = []
    /// How often the access tokens are reloaded from the store, so that tokens made or revoked
    /// through another daemon take effect here (default 5 s).
    public var tokenRefreshInterval: Duration = .seconds(5)

    /// Creates a configuration.
    public init(
        socketPath: String,
        homeDirectory: String,
        limits: ConnectionLimits = ConnectionLimits(),
        maxConnections: Int = 1024,
        allowedGroupID: UInt32? = nil
    ) {
        self.socketPath = socketPath
        self.homeDirectory = homeDirectory
        self.limits = limits
        self.maxConnections = maxConnections
        self.allowedGroupID = allowedGroupID
    }

    /// The defaults for this environment, with explicit overrides.
    ///
    /// Socket: `socket`, else ``SocketLocation/defaultPath(environment:)``. Data: `home`, else
    /// `$TALLY_HOME`, else `$XDG_DATA_HOME/tally`, else `$HOME/.local/share/tally`.
    /// - Parameters:
    ///   - environment: The process environment.
    ///   - socket: A socket path given on the command line.
    ///   - home: A data folder given on the command line.
    public static func resolve(environment: [String: String], socket: String? = nil, home: String? = nil) -> DaemonConfiguration {
        let socketPath = socket ?? SocketLocation.defaultPath(environment: environment)
        let homeDirectory: String
        if let home {
            homeDirectory = home
        } else if let value = environment["TALLY_HOME"], !value.isEmpty {
            homeDirectory = value
        } else if let value = environment["XDG_DATA_HOME"], !value.isEmpty {
            homeDirectory = "\(value)/tally"
        } else {
            let userHome = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
            homeDirectory = "\(userHome)/.local/share/tally"
        }
        return DaemonConfiguration(socketPath: socketPath, homeDirectory: homeDirectory)
    }

    /// Where the store is: `nil` (the default) for the SQLite file in the home folder
    /// (``storePath``), or a `postgres://USER@HOST:PORT/DATABASE` URL (docs/teams.md), its
    /// password from `TALLY_PG_PASSWORD` or a `.pgpass`-style file.
    public var storeURL: String?

    /// Path of the SQLite file.
    public var storePath: String { "\(homeDirectory)/tally.sqlite" }

    /// The store as `tally status` names it: the SQLite file, or the PostgreSQL URL (which holds
    /// no password).
    public var storeDescription: String { storeURL ?? storePath }
    /// A folder of artifact blobs other than the home folder's (`--artifacts`): one that every
    /// daemon on a shared PostgreSQL store mounts (docs/teams.md).
    public var artifactFolder: String?
    /// Folder of the artifact blobs.
    public var artifactPath: String { artifactFolder ?? "\(homeDirectory)/artifacts" }
    /// Where clients that could not reach the daemon leave their journals (docs/journal.md).
    public var journalPath: String { "\(homeDirectory)/journal" }
}

/// A TCP address `tally serve --listen` binds, with its TLS files (`nil`: plaintext, loopback only).
public struct TCPListenAddress: Sendable, Hashable {
    /// Address to bind.
    public var host: String
    /// Port; 0 for one the system picks.
    public var port: Int
    /// Certificate and key; `nil` for plaintext.
    public var tls: TLSFiles?

    /// Creates an address.
    public init(host: String, port: Int, tls: TLSFiles?) {
        self.host = host
        self.port = port
        self.tls = tls
    }

    /// Whether `host` is a loopback address, where plaintext may be allowed.
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// The URL `tally status` shows ("tls://0.0.0.0:7312").
    public func url(port bound: Int?) -> String {
        TCPListener.url(host: host, port: bound ?? port, tls: tls != nil)
    }
}
