#if canImport(Glibc)
import Glibc
#endif

/// Who makes a call: the credentials the kernel reported for the peer when it connected
/// (`SO_PEERCRED`), and whether it runs as the daemon's own user.
///
/// Peers of an allowed group (`tally serve --allow-group`) are callers that are not the daemon's
/// user: what would act with the daemon's own authority (managing providers, which hold API keys
/// and commands, and running commands) is for the daemon's user only.
public struct Caller: Sendable, Hashable {
    /// The peer's user id.
    public var uid: UInt32
    /// The peer's primary group id.
    public var gid: UInt32
    /// The peer's process id (0 when unknown).
    public var pid: Int32
    /// Whether the peer runs as the daemon's own user.
    public var isDaemonUser: Bool

    /// Creates a caller.
    public init(uid: UInt32, gid: UInt32, pid: Int32 = 0, isDaemonUser: Bool) {
        self.uid = uid
        self.gid = gid
        self.pid = pid
        self.isDaemonUser = isDaemonUser
    }

    /// The daemon's own process: in-process calls and calls a service makes to itself.
    public static var daemonUser: Caller {
        Caller(uid: UInt32(getuid()), gid: UInt32(getgid()), pid: getpid(), isDaemonUser: true)
    }

    /// Throws PERMISSION_DENIED unless the caller runs as the daemon's own user.
    /// - Parameter action: What was refused, for the message ("managing providers").
    public func requireDaemonUser(for action: String) throws {
        guard isDaemonUser else {
            throw RPCError(
                code: .permissionDenied,
                message: "\(action) is reserved to the daemon's own user; uid \(uid) may not do it"
            )
        }
    }
}
