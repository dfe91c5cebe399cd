/// Where the dashboard listens: `tally serve --http HOST:PORT`, or off.
public struct GatewayAddress: Sendable, Hashable, CustomStringConvertible {
    /// Host name or IP address to bind.
    public var host: String
    /// TCP port; 0 lets the system choose.
    public var port: Int
    /// Whether the address is the default one rather than one given: a default port that is taken
    /// is not an error; the next free one is used instead (as Jupyter does).
    public var isDefault: Bool

    /// The default, `127.0.0.1:7311`.
    public static let `default` = GatewayAddress(host: "127.0.0.1", port: 7311, isDefault: true)

    /// Creates an address.
    public init(host: String, port: Int, isDefault: Bool = false) {
        self.host = host
        self.port = port
        self.isDefault = isDefault
    }

    /// Parses `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (loopback); `nil` for `off`.
    /// - Throws: ``GatewayError`` `badAddress` naming what is wrong.
    public static func parse(_ text: String) throws -> GatewayAddress? {
        if text == "off" || text == "none" { return nil }
        guard let colon = text.lastIndex(of: ":") else {
            throw GatewayError(code: .badAddress, message: "--http takes HOST:PORT (such as 127.0.0.1:7311) or off, not '\(text)'")
        }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        guard let port = Int(portText), (0...65_535).contains(port) else {
            throw GatewayError(code: .badAddress, message: "--http: the port '\(portText)' is not a number from 0 to 65535")
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "127.0.0.1" }
        return GatewayAddress(host: host, port: port)
    }

    /// Whether the host is a loopback address (only such addresses are used without a warning).
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
