import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Where a download is written before it is verified: a hidden temporary name next to its
/// destination (`.<name>.tally-XXXXXX`, on the same file system, so the final rename is atomic),
/// with the permissions the user's umask gives a new file or folder.
enum DownloadDestination {
    /// Refuses an existing destination unless `force`.
    static func checkFree(_ destination: String, force: Bool) throws {
        if !force && FileManager.default.fileExists(atPath: destination) {
            throw ValidationErrorMessage(message: "\(destination) exists; use --force to replace it")
        }
    }

    /// Creates the temporary file of `destination`.
    /// - Returns: Its path and an open descriptor for writing.
    static func makeFile(for destination: String) throws -> (path: String, fd: Int32) {
        var (parent, template) = temporaryTemplate(for: destination)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw ValidationErrorMessage(message: "cannot create a file in \(parent): \(String(cString: strerror(errno)))")
        }
        fchmod(fd, 0o666 & ~umask)
        return (template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }, fd)
    }

    /// Creates the temporary folder of `destination`.
    static func makeFolder(for destination: String) throws -> String {
        var (parent, template) = temporaryTemplate(for: destination)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw ValidationErrorMessage(message: "cannot create a folder in \(parent): \(String(cString: strerror(errno)))")
        }
        let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        chmod(path, 0o777 & ~umask)
        return path
    }

    /// The process's umask (read without changing it for longer than the read).
    static let umask: mode_t = {
        let mask = Glibc.umask(0o022)
        _ = Glibc.umask(mask)
        return mask
    }()

    private static func temporaryTemplate(for destination: String) -> (parent: String, template: [CChar]) {
        let url = URL(fileURLWithPath: destination)
        let parent = url.deletingLastPathComponent().path
        return (parent, Array("\(parent)/.\(url.lastPathComponent).tally-XXXXXX".utf8CString))
    }
}
