#if canImport(Glibc)
import Glibc
#endif

/// The credentials of the process at the other end of a Unix socket (Linux `SO_PEERCRED`).
///
/// Laid out as `struct ucred`: pid, uid, gid, each 32 bits.
public struct PeerCredentials: Sendable, Hashable {
    /// Process id.
    public var pid: Int32 = 0
    /// User id.
    public var uid: UInt32 = 0
    /// Primary group id.
    public var gid: UInt32 = 0

    /// Creates credentials.
    public init(pid: Int32 = 0, uid: UInt32 = 0, gid: UInt32 = 0) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }
}

/// Who may talk to the daemon.
public struct PeerPolicy: Sendable, Hashable {
    /// The daemon's own user id: peers with this uid are always allowed.
    public var ownerUID: UInt32
    /// A group whose members (by the peer's primary gid) are allowed too; `nil` for none.
    public var allowedGroupID: UInt32?

    /// Creates a policy.
    public init(ownerUID: UInt32, allowedGroupID: UInt32? = nil) {
        self.ownerUID = ownerUID
        self.allowedGroupID = allowedGroupID
    }

    /// Only the user running this process.
    public static var currentUser: PeerPolicy {
        PeerPolicy(ownerUID: UInt32(getuid()))
    }

    /// Whether a peer may use the daemon.
    public func allows(_ peer: PeerCredentials) -> Bool {
        if peer.uid == ownerUID { return true }
        if let group = allowedGroupID, peer.gid == group { return true }
        return false
    }
}
