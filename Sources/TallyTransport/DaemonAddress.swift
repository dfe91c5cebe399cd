/// Where a client finds the daemon: its Unix socket, or a TCP address with or without TLS.
///
/// Written as a URL in `TALLY_URL` and `--url`: `unix:///path/tally.sock`,
/// `tally+tls://HOST:PORT`, or `tally+tcp://HOST:PORT` (plaintext, for a daemon started with
/// `--insecure-no-tls` on loopback).
public enum DaemonAddress: Sendable, Hashable, CustomStringConvertible {
    /// A Unix socket path.
    case unix(String)
    /// A TCP host and port; `tls` false for plaintext.
    case tcp(host: String, port: Int, tls: Bool)

    /// Parses a daemon URL.
    /// - Throws: ``RPCError``-free ``DaemonAddressError`` naming the accepted forms.
    public init(url: String) throws(DaemonAddressError) {
        if url.hasPrefix("unix://") {
            let path = String(url.dropFirst("unix://".count))
            guard path.hasPrefix("/") else {
                throw DaemonAddressError(url: url, reason: "a unix URL names an absolute path: unix:///path/tally.sock")
            }
            self = .unix(path)
            return
        }
        let tls: Bool
        let rest: Substring
        if url.hasPrefix("tally+tls://") {
            tls = true
            rest = url.dropFirst("tally+tls://".count)
        } else if url.hasPrefix("tally+tcp://") {
            tls = false
            rest = url.dropFirst("tally+tcp://".count)
        } else {
            throw DaemonAddressError(url: url, reason: "expected unix:///PATH, tally+tls://HOST:PORT or tally+tcp://HOST:PORT")
        }
        let (host, port) = try Self.hostAndPort(String(rest), url: url, allowingPortZero: false)
        self = .tcp(host: host, port: port, tls: tls)
    }

    /// Splits `HOST:PORT` (`[IPv6]:PORT`), as in a daemon URL after its scheme.
    /// - Parameters:
    ///   - authority: The text.
    ///   - url: The whole URL, for messages.
    ///   - allowingPortZero: Whether port 0 (any free port, for a listener) is accepted.
    public static func hostAndPort(_ authority: String, url: String, allowingPortZero: Bool) throws(DaemonAddressError) -> (host: String, port: Int) {
        let authority = authority.hasSuffix("/") ? authority.dropLast() : Substring(authority)
        let host: Substring
        let portText: Substring
        if authority.hasPrefix("[") {
            // An IPv6 literal: [::1]:7312.
            guard let close = authority.firstIndex(of: "]"), authority[authority.index(after: close)...].hasPrefix(":") else {
                throw DaemonAddressError(url: url, reason: "an IPv6 address is written [ADDRESS]:PORT")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            portText = authority[authority.index(close, offsetBy: 2)...]
        } else {
            guard let colon = authority.lastIndex(of: ":") else {
                throw DaemonAddressError(url: url, reason: "the port is missing: HOST:PORT")
            }
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        }
        guard !host.isEmpty, !host.contains("/"), !host.contains("@"), !host.contains(":") || authority.hasPrefix("[") else {
            throw DaemonAddressError(url: url, reason: "the host is missing or malformed")
        }
        guard let port = Int(portText), ((allowingPortZero ? 0 : 1)...65_535).contains(port) else {
            throw DaemonAddressError(url: url, reason: "the port must be a number from \(allowingPortZero ? 0 : 1) to 65535")
        }
        return (String(host), port)
    }

    /// The address as a URL.
    public var description: String {
        switch self {
        case .unix(let path):
            return "unix://\(path)"
        case .tcp(let host, let port, let tls):
            let shown = host.contains(":") ? "[\(host)]" : host
            return "\(tls ? "tally+tls" : "tally+tcp")://\(shown):\(port)"
        }
    }
}

/// A daemon URL that cannot be used.
public struct DaemonAddressError: Error, Sendable, CustomStringConvertible {
    /// The URL given.
    public var url: String
    /// What is wrong with it.
    public var reason: String

    public var description: String { "cannot use the daemon URL \"\(url)\": \(reason)" }
}
