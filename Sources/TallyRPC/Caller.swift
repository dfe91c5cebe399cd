#if canImport(Glibc)
import Glibc
#endif

/// Who makes a call, and what it may do.
///
/// On the Unix socket, the credentials the kernel reported for the peer when it connected
/// (`SO_PEERCRED`): the daemon's own user is ``Role/admin``, peers of an allowed group (`tally
/// serve --allow-group`) are ``Role/member``. On TCP, the access token the client presented in
/// its HELLO: its name is the user and its role the role. Never what a client claims.
public struct Caller: Sendable, Hashable {
    /// The peer's user id (`UInt32.max` on TCP).
    public var uid: UInt32
    /// The peer's primary group id (`UInt32.max` on TCP).
    public var gid: UInt32
    /// The peer's process id (0 when unknown).
    public var pid: Int32
    /// Whether the peer runs as the daemon's own user.
    public var isDaemonUser: Bool
    /// What the caller may do.
    public var role: Role
    /// The user named by the caller's access token; `nil` on the Unix socket, where the user is
    /// the peer's uid.
    public var tokenUser: String?
    /// The id of the caller's access token; `nil` on the Unix socket.
    public var tokenID: String?

    /// Creates a caller of the Unix socket: the daemon's user is an admin, anyone else a member.
    public init(uid: UInt32, gid: UInt32, pid: Int32 = 0, isDaemonUser: Bool) {
        self.uid = uid
        self.gid = gid
        self.pid = pid
        self.isDaemonUser = isDaemonUser
        self.role = isDaemonUser ? .admin : .member
        self.tokenUser = nil
        self.tokenID = nil
    }

    /// Creates the caller an access token stands for.
    /// - Parameters:
    ///   - tokenUser: The token's name.
    ///   - role: The token's role.
    ///   - tokenID: The token's id.
    public init(tokenUser: String, role: Role, tokenID: String? = nil) {
        self.uid = UInt32.max
        self.gid = UInt32.max
        self.pid = 0
        self.isDaemonUser = false
        self.role = role
        self.tokenUser = tokenUser
        self.tokenID = tokenID
    }

    /// The daemon's own process: in-process calls and calls a service makes to itself.
    public static var daemonUser: Caller {
        Caller(uid: UInt32(getuid()), gid: UInt32(getgid()), pid: getpid(), isDaemonUser: true)
    }

    /// How messages name the caller: the token's user, else "uid N".
    public var identity: String {
        tokenUser ?? "uid \(uid)"
    }

    /// Throws PERMISSION_DENIED unless the caller's role is at least `role`.
    /// - Parameters:
    ///   - role: The least role the action needs.
    ///   - action: What was refused, for the message ("managing providers").
    public func require(_ role: Role, for action: String) throws {
        guard self.role >= role else {
            throw RPCError(
                code: .permissionDenied,
                message: "\(action) needs the \(role) role; \(identity) is a \(self.role)"
            )
        }
    }
}
