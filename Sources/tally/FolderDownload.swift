import Crypto
import Foundation
import TallyProto
import TallyRPC

#if canImport(Glibc)
import Glibc
#endif

/// A folder artifact's download in progress: its files are written into a temporary folder next
/// to the destination, each checked against its size and SHA-256 when the next begins, and the
/// folder is renamed into place only once every file is verified.
final class FolderDownload {
    let artifact: Artifact
    let destination: String
    let force: Bool
    let temporary: String
    private var current: (file: ArtifactFile, handle: FileHandle, hasher: SHA256, written: UInt64)?
    private var received = 0

    init(artifact: Artifact, destination: String, force: Bool) throws {
        self.artifact = artifact
        self.destination = destination
        self.force = force
        try DownloadDestination.checkFree(destination, force: force)
        temporary = try DownloadDestination.makeFolder(for: destination)
    }

    /// Starts the next file, after checking the previous one.
    func start(_ file: ArtifactFile) throws {
        try finishFile()
        guard Self.isSafe(file.path) else {
            throw RPCError(code: .dataLoss, message: "the daemon sent an unsafe file path \(String(reflecting: file.path))")
        }
        let path = temporary + "/" + file.path
        let parent = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else {
            throw ValidationErrorMessage(message: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        current = (file, FileHandle(fileDescriptor: fd, closeOnDealloc: true), SHA256(), 0)
    }

    func write(_ bytes: [UInt8]) throws {
        guard current != nil else { throw RPCError(code: .internalError, message: "content before the first file of a folder") }
        current!.hasher.update(data: bytes)
        current!.written += UInt64(bytes.count)
        try current!.handle.write(contentsOf: bytes)
    }

    /// Verifies the last file and the count, syncs, and moves the folder into place.
    func finish() throws {
        try finishFile()
        guard received == Int(artifact.fileCount) else {
            throw RPCError(code: .dataLoss, message: "\(received) files arrived; the record lists \(artifact.fileCount); nothing written")
        }
        if FileManager.default.fileExists(atPath: destination) {
            guard force else { throw ValidationErrorMessage(message: "\(destination) exists; use --force to replace it") }
            try FileManager.default.removeItem(atPath: destination)
        }
        guard rename(temporary, destination) == 0 else {
            throw ValidationErrorMessage(message: "cannot rename to \(destination): \(String(cString: strerror(errno)))")
        }
    }

    func discard() {
        if let current { try? current.handle.close() }
        current = nil
        try? FileManager.default.removeItem(atPath: temporary)
    }

    private func finishFile() throws {
        guard let (file, handle, hasher, written) = current else { return }
        current = nil
        let actual = hex(hasher.finalize())
        guard written == file.size, actual == file.sha256 else {
            try? handle.close()
            throw RPCError(
                code: .dataLoss,
                message: "\(file.path) arrived with \(written) bytes, sha256 \(actual); the record says \(file.size) bytes, sha256 \(file.sha256); nothing written"
            )
        }
        try handle.synchronize()
        try handle.close()
        received += 1
    }

    /// A relative path with no empty, "." or ".." segment and no NUL or backslash.
    static func isSafe(_ path: String) -> Bool {
        !path.isEmpty && !path.hasPrefix("/") && !path.contains("\0") && !path.contains("\\")
            && path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !["", ".", ".."].contains($0) }
    }
}
