import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The data folder (`--home`) before the daemon puts anything in it.
///
/// Tally makes private (0700) only a folder that is its own: one it creates, an empty one, or one
/// that already holds a Tally store. A folder other users may write to (world-writable or sticky,
/// such as `/tmp`), or one owned by another user, is refused: its mode is never changed. Any other
/// existing folder of the daemon's user is used and left as it is, with a warning when it is not
/// private; the store and key files in it are 0600 and the artifact folder 0700 in any case.
enum HomeFolder {
    /// What the daemon may do with the home folder's mode.
    enum Ownership: Equatable {
        /// Tally's own folder: it is made 0700.
        case tallys
        /// A folder of the user's with other content: its mode is left as it is.
        case usersOwn
    }

    /// Names that mark a folder as a Tally home made earlier.
    static let markers = ["tally.sqlite", "secret.key", "artifacts"]

    /// Creates the folder (0700) when missing, or checks an existing one.
    /// - Throws: ``DaemonError`` `setupFailed` naming the folder, its owner and mode, when it is
    ///   not a folder, belongs to another user, or other users may write to it.
    static func prepare(_ path: String, logger: Logger) throws -> Ownership {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            guard code == ENOENT else {
                throw DaemonError(code: .setupFailed, message: "cannot inspect the data folder \(path): \(String(cString: strerror(code)))")
            }
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw DaemonError(code: .setupFailed, message: "cannot create the data folder \(path): \(error)", cause: error)
            }
            return .tallys
        }
        let mode = info.st_mode & 0o7777
        let modeText = String(mode, radix: 8)
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw DaemonError(code: .setupFailed, message: "the data folder \(path) is not a folder")
        }
        guard info.st_uid == getuid() else {
            throw DaemonError(
                code: .setupFailed,
                message: "the data folder \(path) belongs to uid \(info.st_uid), not to this user (uid \(getuid())); "
                    + "pass --home with a folder of your own, or a path that does not exist yet (Tally creates it, mode 0700)"
            )
        }
        guard mode & (0o002 | UInt32(S_ISVTX)) == 0 else {
            throw DaemonError(
                code: .setupFailed,
                message: "the data folder \(path) is shared with other users (mode \(modeText)); Tally leaves its mode as it is "
                    + "and keeps its data only in a folder of its own: pass --home with a path that does not exist yet "
                    + "(for example \((path as NSString).appendingPathComponent("tally"))), and Tally creates it, mode 0700"
            )
        }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        if entries.isEmpty || entries.contains(where: markers.contains) {
            return .tallys
        }
        if mode & 0o077 != 0 {
            logger.warning(
                "the data folder was not created by Tally and holds other files: its mode is left as it is; the store and keys in it are private",
                metadata: ["folder": "\(path)", "mode": "\(modeText)"]
            )
        }
        return .usersOwn
    }
}
