public import TallyRPC

/// A TCP address the daemon listens on beside its Unix socket (docs/teams.md): TLS with the
/// given certificate, or plaintext for tests on loopback (`--insecure-no-tls`). Every client must
/// present an access token in its HELLO.
public struct TCPListener: Sendable {
    /// Address to bind ("0.0.0.0", "127.0.0.1", "::").
    public var host: String
    /// Port to bind; 0 for one the system picks (``TransportServer/boundPort``).
    public var port: Int
    /// The certificate and key to serve; `nil` for plaintext.
    public var tls: TLSFiles?
    /// The caller a presented token stands for, or UNAUTHENTICATED. Called on the event loop
    /// reading the HELLO: it must not block.
    public var authenticate: @Sendable (String) -> Result<Caller, RPCError>

    /// How a listener is shown (`tally status`, logs): "tls://HOST:PORT", "tcp://…" without TLS,
    /// an IPv6 host in brackets.
    public static func url(host: String, port: Int, tls: Bool) -> String {
        let shown = host.contains(":") ? "[\(host)]" : host
        return "\(tls ? "tls" : "tcp")://\(shown):\(port)"
    }

    /// Creates a listener.
    public init(host: String, port: Int, tls: TLSFiles?, authenticate: @escaping @Sendable (String) -> Result<Caller, RPCError>) {
        self.host = host
        self.port = port
        self.tls = tls
        self.authenticate = authenticate
    }
}

/// A server's certificate chain and private key, as PEM files.
public struct TLSFiles: Sendable, Hashable {
    /// The certificate, followed by any intermediate certificates.
    public var certificateChain: String
    /// The private key.
    public var privateKey: String

    /// Creates the pair.
    public init(certificateChain: String, privateKey: String) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
    }
}
