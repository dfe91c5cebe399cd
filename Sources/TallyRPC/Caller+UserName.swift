#if canImport(Glibc)
import Glibc
#endif
import Synchronization

extension Caller {
    /// The caller's user: its access token's name on TCP; on the Unix socket, its login name
    /// from the system's user database, "uid N" for a uid it does not know. Taken from the
    /// token or the connection's peer credentials, so a client cannot claim another user.
    /// Looked up once per uid (every run's start asks, and the database may be a file).
    public var userName: String {
        if let tokenUser { return tokenUser }
        if let known = Self.userNames.withLock({ $0[uid] }) { return known }
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        let status = getpwuid_r(uid_t(uid), &entry, &buffer, buffer.count, &result)
        let name = status == 0 && result != nil ? entry.pw_name.map { String(cString: $0) } : nil
        let found = name ?? "uid \(uid)"
        Self.userNames.withLock { $0[uid] = found }
        return found
    }

    private static let userNames = Mutex<[UInt32: String]>([:])
}
