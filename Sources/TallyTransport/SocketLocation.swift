/// Where the daemon's socket is when nothing says otherwise.
public enum SocketLocation {
    /// The default socket path: `$TALLY_SOCKET`, else `$XDG_RUNTIME_DIR/tally/tally.sock`, else
    /// `$HOME/.tally/run/tally.sock`.
    /// - Parameter environment: The process environment.
    public static func defaultPath(environment: [String: String]) -> String {
        if let path = environment["TALLY_SOCKET"], !path.isEmpty {
            return path
        }
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty {
            return "\(runtime)/tally/tally.sock"
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        return "\(home)/.tally/run/tally.sock"
    }
}
