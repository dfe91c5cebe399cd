import NIOCore
public import TallyRPC
#if canImport(Glibc)
import Glibc
#endif

/// Which daemons a client talks to: one running as the client's own user, as root, or as the one
/// other uid the client was told to trust (``ClientConfiguration/trustedDaemonUID``, for a member
/// of a group that another user's daemon allows).
///
/// A socket path can be taken by anyone who can write to its folder; a daemon of another user
/// there would receive everything the client sends, API keys included. The check reads the uid
/// the kernel recorded for the listening process (`SO_PEERCRED`) right after connecting, before
/// anything is sent.
public enum ServerIdentity {
    /// The environment variable naming one more daemon uid to trust.
    public static let trustedUIDVariable = "TALLY_DAEMON_UID"

    /// Whether a client of uid `clientUID` may talk to a daemon of uid `daemonUID`.
    public static func isTrusted(daemonUID: UInt32, clientUID: UInt32, trusted: UInt32? = nil) -> Bool {
        daemonUID == clientUID || daemonUID == 0 || daemonUID == trusted
    }

    /// The refusal of a daemon of another uid.
    public static func refusal(path: String, daemonUID: UInt32, clientUID: UInt32) -> RPCError {
        RPCError(
            code: .permissionDenied,
            message: "the socket \(path) is served by uid \(daemonUID), not by this user (uid \(clientUID)) or root; "
                + "refusing to talk to it (set \(trustedUIDVariable)=\(daemonUID) to trust that user's daemon)"
        )
    }

    /// The uid to trust named by the environment, if any.
    public static func trustedUID(environment: [String: String]) -> UInt32? {
        environment[trustedUIDVariable].flatMap { UInt32($0) }
    }

    /// Checks the daemon at the other end of a freshly connected channel.
    /// - Throws: ``RPCError`` PERMISSION_DENIED naming the daemon's uid when it is not trusted;
    ///   UNAVAILABLE when its credentials cannot be read.
    static func verify(_ channel: any Channel, path: String, trusted: UInt32?) async throws {
        #if os(Linux)
        let peer: PeerCredentials
        do {
            peer = try await PeerCredentials.of(channel)
        } catch where !channel.isActive {
            // The daemon closed the connection at once (a refusal at its connection limit closes
            // right after the GOAWAY): nothing can be sent on it, and the handshake that follows
            // reports the daemon's reason.
            return
        } catch {
            throw RPCError(code: .unavailable, message: "cannot read the credentials of the daemon at \(path): \(error)", cause: error)
        }
        let me = UInt32(geteuid())
        guard isTrusted(daemonUID: peer.uid, clientUID: me, trusted: trusted) else {
            throw refusal(path: path, daemonUID: peer.uid, clientUID: me)
        }
        #endif
    }
}
