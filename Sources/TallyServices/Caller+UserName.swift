#if canImport(Glibc)
import Glibc
#endif
import TallyRPC

extension Caller {
    /// The caller's login name, from the system's user database; "uid N" for a uid it does not
    /// know. Taken from the connection's peer credentials, so a client cannot claim another user.
    var userName: String {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        let status = getpwuid_r(uid_t(uid), &entry, &buffer, buffer.count, &result)
        guard status == 0, result != nil, let name = entry.pw_name else { return "uid \(uid)" }
        return String(cString: name)
    }
}
