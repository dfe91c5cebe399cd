import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Guards a socket path so that only one daemon serves it.
///
/// The lock is an exclusive `flock` on `<socket>.lock`, holding the owner's pid. The kernel drops
/// it when the process dies, so a crashed daemon never blocks the next one; its stale socket file
/// is then removed before binding.
final class SocketLock: Sendable {
    let socketPath: String
    private let descriptor: Int32

    /// Creates the socket's folder (mode 0700), takes the lock and removes a stale socket file.
    /// - Throws: ``DaemonError`` `alreadyRunning` naming the pid that holds the lock.
    /// - Parameter groupID: A group allowed to connect: the folder is then created 0710 and owned
    ///   by that group, so its members can reach the socket.
    init(socketPath: String, groupID: UInt32? = nil) throws {
        self.socketPath = socketPath
        let directory = (socketPath as NSString).deletingLastPathComponent
        do {
            if !FileManager.default.fileExists(atPath: directory) {
                try FileManager.default.createDirectory(
                    atPath: directory,
                    withIntermediateDirectories: true,
                    attributes: [.posixPermissions: groupID == nil ? 0o700 : 0o710]
                )
                if let groupID {
                    _ = chown(directory, getuid(), groupID)
                }
            }
        } catch {
            throw DaemonError(code: .setupFailed, message: "cannot create the socket folder \(directory): \(error)", cause: error)
        }
        let lockPath = socketPath + ".lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw DaemonError(code: .setupFailed, message: "cannot open \(lockPath): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = Self.readPid(fd)
            close(fd)
            let who = holder.map { "pid \($0)" } ?? "another process"
            throw DaemonError(
                code: .alreadyRunning,
                message: "another tally daemon (\(who)) is already serving \(socketPath)"
            )
        }
        descriptor = fd
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
        // We hold the lock, so any socket file left here belongs to a daemon that died.
        if FileManager.default.fileExists(atPath: socketPath) {
            unlink(socketPath)
        }
    }

    /// Removes the socket file and releases the lock.
    func release() {
        unlink(socketPath)
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    private static func readPid(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = pread(fd, &buffer, 31, 0)
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return Int32(text)
    }
}
