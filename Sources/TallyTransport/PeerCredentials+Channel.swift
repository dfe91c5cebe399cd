import NIOCore
public import TallyRPC
#if canImport(Glibc)
import Glibc
#endif

extension PeerCredentials {
    /// Reads the credentials of the process at the other end of a connected Unix socket, as the
    /// kernel recorded them when it connected (`SO_PEERCRED`).
    /// - Throws: When the channel is not a socket, or on a platform without `SO_PEERCRED`.
    static func of(_ channel: any Channel) async throws -> PeerCredentials {
        #if os(Linux)
        guard let provider = channel as? any SocketOptionProvider else {
            throw ConnectionError(code: .internalError, message: "the channel is not a socket")
        }
        return try await provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET),
            name: SocketOptionName(SO_PEERCRED)
        ).get()
        #else
        throw ConnectionError(code: .unimplemented, message: "peer credentials are read on Linux only")
        #endif
    }
}

extension PeerPolicy {
    /// The caller a peer is to the services: the daemon's user when its uid is the owner's.
    public func caller(_ peer: PeerCredentials) -> Caller {
        Caller(uid: peer.uid, gid: peer.gid, pid: peer.pid, isDaemonUser: peer.uid == ownerUID)
    }

    /// The caller of a connection whose credentials cannot be read: never the daemon's user.
    static let unknownCaller = Caller(uid: UInt32.max, gid: UInt32.max, pid: 0, isDaemonUser: false)
}
