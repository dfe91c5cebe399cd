import Foundation
import TallyStore

/// Where a PostgreSQL store lives: `postgres://USER@HOST:PORT/DATABASE[?sslmode=…][&host=/socket/folder]`
/// (also `postgresql://`). The password is never taken from the URL's text on the command line
/// of other users' `ps`: it comes from `TALLY_PG_PASSWORD` or a `.pgpass`-style file
/// (``PostgresPassword``); a password in the URL is refused.
package struct PostgresURL: Sendable, Hashable, CustomStringConvertible {
    /// How the connection is encrypted, as libpq's `sslmode` names it.
    package enum TLSMode: String, Sendable, Hashable {
        /// Plain text (the default on a Unix socket and on loopback).
        case disable
        /// TLS when the server offers it (the default elsewhere, as libpq's).
        case prefer
        /// TLS or no connection; the certificate is not checked against a CA.
        case require
        /// TLS, the certificate checked against the system's CAs and the host's name.
        case verifyFull = "verify-full"
    }

    package var user: String
    package var host: String
    package var port: Int
    package var database: String
    /// The folder of the server's Unix socket, when given as `?host=/folder`.
    package var socketFolder: String?
    package var tls: TLSMode

    /// Parses a store URL.
    /// - Throws: ``StoreError`` `invalidArgument` saying what is wrong.
    package init(_ text: String) throws {
        func invalid(_ reason: String) -> StoreError {
            StoreError(code: .invalidArgument, message: "invalid PostgreSQL URL \(String(reflecting: Self.redacted(text))): \(reason)", field: "store")
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              scheme == "postgres" || scheme == "postgresql" else {
            throw invalid("expected postgres://USER@HOST:PORT/DATABASE")
        }
        guard components.password == nil else {
            throw invalid("put the password in TALLY_PG_PASSWORD or a .pgpass file, not in the URL")
        }
        user = components.user.flatMap { $0.removingPercentEncoding } ?? ""
        guard !user.isEmpty else { throw invalid("it names no user (postgres://USER@HOST/DATABASE)") }
        host = components.host.flatMap { $0.removingPercentEncoding } ?? ""
        port = components.port ?? 5432
        guard (1...65_535).contains(port) else { throw invalid("port \(port) is out of range") }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.removingPercentEncoding ?? path
        if database.isEmpty { database = user }
        socketFolder = nil
        var mode: TLSMode?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value, let parsed = TLSMode(rawValue: value) else {
                    throw invalid("sslmode must be disable, prefer, require or verify-full")
                }
                mode = parsed
            case "host":
                guard let value = item.value, value.hasPrefix("/") else { throw invalid("host= must be the absolute path of the socket's folder") }
                socketFolder = value
            default:
                throw invalid("unknown parameter \(String(reflecting: item.name))")
            }
        }
        guard !host.isEmpty || socketFolder != nil else { throw invalid("it names no host") }
        let local = socketFolder != nil || ["127.0.0.1", "::1", "localhost"].contains(host)
        tls = mode ?? (local ? .disable : .prefer)
        if socketFolder != nil, tls != .disable {
            throw invalid("TLS does not apply to a Unix socket (sslmode=\(tls.rawValue))")
        }
    }

    /// The URL without any secret (it holds none): for logs and `tally status`.
    package var description: String {
        var text = "postgres://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)"
        var query: [String] = []
        if let socketFolder { query.append("host=\(socketFolder)") }
        if tls != .disable { query.append("sslmode=\(tls.rawValue)") }
        if !query.isEmpty { text += "?" + query.joined(separator: "&") }
        return text
    }

    /// `text` with anything after a `:` in its user part hidden, for error messages.
    static func redacted(_ text: String) -> String {
        guard let at = text.firstIndex(of: "@"), let schemeEnd = text.range(of: "://")?.upperBound, schemeEnd < at else { return text }
        let userPart = text[schemeEnd..<at]
        guard let colon = userPart.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }
}
