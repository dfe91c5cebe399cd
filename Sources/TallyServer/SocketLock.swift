import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Guards a socket path so that only one daemon serves it.
///
/// The lock is an exclusive `flock` on `<socket>.lock`, holding the owner's pid. The kernel drops
/// it when the process dies, so a crashed daemon never blocks the next one; its stale socket file
/// is then removed before binding. A clean stop removes the lock file too.
///
/// The lock file is opened without following a symbolic link (`O_NOFOLLOW`) and must be a regular
/// file of the daemon's user: anything else there is refused, never truncated or written.
final class SocketLock: Sendable {
    let socketPath: String
    let lockPath: String
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
        self.lockPath = lockPath
        descriptor = try Self.lock(lockPath, socketPath: socketPath)
        let pid = "\(getpid())\n"
        // Only now that the lock is held is the file emptied and given this daemon's pid.
        _ = ftruncate(descriptor, 0)
        _ = pid.withCString { pwrite(descriptor, $0, strlen($0), 0) }
        // We hold the lock, so any socket file left here belongs to a daemon that died.
        if FileManager.default.fileExists(atPath: socketPath) {
            unlink(socketPath)
        }
    }

    /// Removes the socket file and releases the lock.
    func release() {
        unlink(socketPath)
        // Removed while still locked, and only if the path is still this lock's file: a daemon
        // that opened it meanwhile sees it unlinked once it holds the lock, and starts over.
        if Self.isSameFile(descriptor, lockPath) {
            unlink(lockPath)
        }
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    /// Opens (or creates) the lock file safely and takes its lock.
    private static func lock(_ lockPath: String, socketPath: String) throws -> Int32 {
        for _ in 0..<16 {
            let fd = open(lockPath, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                let code = errno
                if code == ELOOP {
                    throw DaemonError(
                        code: .setupFailed,
                        message: "\(lockPath) is a symbolic link; refusing to use it as the lock file (remove it if it is not yours)"
                    )
                }
                throw DaemonError(code: .setupFailed, message: "cannot open \(lockPath): \(String(cString: strerror(code)))")
            }
            var info = stat()
            guard fstat(fd, &info) == 0 else {
                let reason = String(cString: strerror(errno))
                close(fd)
                throw DaemonError(code: .setupFailed, message: "cannot inspect \(lockPath): \(reason)")
            }
            guard info.st_mode & S_IFMT == S_IFREG else {
                close(fd)
                throw DaemonError(code: .setupFailed, message: "\(lockPath) is not a regular file; refusing to use it as the lock file")
            }
            guard info.st_uid == getuid() else {
                close(fd)
                throw DaemonError(
                    code: .setupFailed,
                    message: "\(lockPath) belongs to uid \(info.st_uid), not to this user (uid \(getuid())); refusing to use it as the lock file"
                )
            }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                let holder = readPid(fd)
                close(fd)
                let who = holder.map { "pid \($0)" } ?? "another process"
                throw DaemonError(
                    code: .alreadyRunning,
                    message: "another tally daemon (\(who)) is already serving \(socketPath)"
                )
            }
            // The daemon that held the lock may have removed the file between our open and our
            // lock: then this lock guards nothing, and the path is opened again.
            if isSameFile(fd, lockPath) { return fd }
            flock(fd, LOCK_UN)
            close(fd)
        }
        throw DaemonError(code: .setupFailed, message: "\(lockPath) keeps being replaced; cannot take the lock")
    }

    /// Whether `path` names (without following a link) the file open on `fd`.
    private static func isSameFile(_ fd: Int32, _ path: String) -> Bool {
        var open = stat()
        var named = stat()
        guard fstat(fd, &open) == 0, lstat(path, &named) == 0 else { return false }
        return open.st_dev == named.st_dev && open.st_ino == named.st_ino
    }

    private static func readPid(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = pread(fd, &buffer, 31, 0)
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return Int32(text)
    }
}
