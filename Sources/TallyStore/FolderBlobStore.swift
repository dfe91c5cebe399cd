#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Foundation

/// The ``BlobStore`` of a folder, local or mounted by several daemons (`--artifacts PATH`):
/// `blobs/sha256/ab/abcdef…`, one file per distinct content, named by its lower-case hex
/// SHA-256; `tmp/` holds uploads in progress.
///
/// Content is written to a temporary file while it is hashed, fsynced, then moved into place by
/// ``commit(_:)`` inside the database transaction that records it, so that garbage collection
/// (which runs in write transactions too) never races an upload of the same content. Reads hash
/// what they return and fail with ``StoreError/Code/dataLoss`` when the content no longer
/// matches its name. Blob files are read-only (0444).
public final class FolderBlobStore: BlobStore {
    /// The artifact folder.
    public let directory: String

    public var location: String { directory }
    /// `<directory>/blobs/sha256`.
    let blobRoot: String
    /// `<directory>/tmp`.
    let temporaryDirectory: String

    /// Opens the blob store in `directory` (created if missing) and removes temporary files left
    /// by uploads that a previous process did not finish.
    /// - Throws: ``StoreError`` `openFailed` when the folders cannot be created.
    public init(directory: String) throws {
        self.directory = directory
        blobRoot = directory + "/blobs/sha256"
        temporaryDirectory = directory + "/tmp"
        do {
            try FileManager.default.createDirectory(atPath: blobRoot, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: temporaryDirectory, withIntermediateDirectories: true)
            for name in try FileManager.default.contentsOfDirectory(atPath: temporaryDirectory) {
                try? FileManager.default.removeItem(atPath: temporaryDirectory + "/" + name)
            }
        } catch {
            throw StoreError(code: .openFailed, message: "cannot open the artifact folder \(directory): \(error)", cause: error)
        }
    }

    /// Where the blob of `sha256` lives (whether or not it exists).
    /// - Parameter sha256: Lower-case hex SHA-256 (64 characters).
    public func path(sha256: String) -> String {
        "\(blobRoot)/\(sha256.prefix(2))/\(sha256)"
    }

    /// Whether a blob of `sha256` is stored.
    public func contains(sha256: String) -> Bool {
        Blobs.isSHA256(sha256) && FileManager.default.fileExists(atPath: path(sha256: sha256))
    }

    /// Names of the temporary files of uploads in progress.
    public func temporaryFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: temporaryDirectory).sorted()
    }

    /// Hashes of every stored blob, sorted.
    public func storedBlobs() throws -> [String] {
        var hashes: [String] = []
        for shard in try FileManager.default.contentsOfDirectory(atPath: blobRoot) {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: blobRoot + "/" + shard)) ?? []
            hashes += names.filter { Blobs.isSHA256($0) && $0.hasPrefix(shard) }
        }
        return hashes.sorted()
    }

    // MARK: - Writing

    /// Starts writing new content to a temporary file.
    /// - Throws: ``StoreError`` when the file cannot be created.
    public func makeWriter() throws -> any BlobWriter {
        let path = temporaryDirectory + "/upload-" + Identifiers.make()
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Blobs.ioError("cannot create \(path)", errno: errno) }
        return Writer(path: path, fd: fd)
    }

    /// Moves written content into place, unless a blob of the same content exists already (then
    /// the temporary file is dropped), and makes the move durable.
    ///
    /// Call it inside the write transaction that inserts the row referencing the blob, after the
    /// insert, so that garbage collection cannot remove the blob in between.
    /// - Returns: `true` when the blob was moved into place, `false` when it existed already.
    /// - Throws: ``StoreError`` when the move fails; the temporary file is left for the caller
    ///   to ``discard(_:)``.
    @discardableResult
    public func commit(_ blob: PendingBlob) throws -> Bool {
        let target = path(sha256: blob.sha256)
        var status = stat()
        if stat(target, &status) == 0, Int64(status.st_size) == blob.size {
            discard(blob)
            return false
        }
        // Missing, or present with the wrong size (damaged): the new file takes its place.
        let shard = (target as NSString).deletingLastPathComponent
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: shard, isDirectory: &isDirectory) {
            guard mkdir(shard, 0o755) == 0 || errno == EEXIST else {
                throw Blobs.ioError("cannot create \(shard)", errno: errno)
            }
            try Self.syncDirectory(blobRoot)
        }
        guard rename(blob.handle, target) == 0 else {
            throw Blobs.ioError("cannot move \(blob.handle) to \(target)", errno: errno)
        }
        try Self.syncDirectory(shard)
        return true
    }

    /// Removes the temporary file of content that will not be stored.
    public func discard(_ blob: PendingBlob) {
        unlink(blob.handle)
    }

    /// Removes the blob of `sha256`, if it exists.
    /// - Returns: Whether a file was removed.
    @discardableResult
    public func remove(sha256: String) -> Bool {
        guard Blobs.isSHA256(sha256) else { return false }
        let target = path(sha256: sha256)
        guard unlink(target) == 0 else { return false }
        try? Self.syncDirectory((target as NSString).deletingLastPathComponent)
        return true
    }

    // MARK: - Reading

    /// Opens a stored blob for reading.
    /// - Parameters:
    ///   - sha256: The content's hash, as recorded.
    ///   - size: The content's size, as recorded.
    /// - Throws: ``StoreError`` `dataLoss` when the file is missing or its size differs.
    public func makeReader(sha256: String, size: Int64) throws -> any BlobReader {
        let target = path(sha256: sha256)
        guard Blobs.isSHA256(sha256) else {
            throw StoreError(code: .dataLoss, message: "artifact content hash \"\(sha256)\" is not a SHA-256")
        }
        let fd = open(target, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT {
                throw StoreError(code: .dataLoss, message: "artifact content \(sha256) is missing from the blob store")
            }
            throw Blobs.ioError("cannot open \(target)", errno: code)
        }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            let code = errno
            close(fd)
            throw Blobs.ioError("cannot stat \(target)", errno: code)
        }
        guard Int64(status.st_size) == size else {
            close(fd)
            throw StoreError(
                code: .dataLoss,
                message: "artifact content \(sha256) is damaged: \(status.st_size) bytes stored, \(size) expected"
            )
        }
        return Reader(path: target, fd: fd, sha256: sha256, size: size)
    }

    // MARK: - Helpers

    /// fsyncs a folder, making a rename or an unlink in it durable.
    static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw Blobs.ioError("cannot open \(path)", errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw Blobs.ioError("cannot fsync \(path)", errno: errno) }
    }
}

extension FolderBlobStore {
    /// Writes one upload to a temporary file, hashing as it goes. Used by one task at a time.
    ///
    /// A writer that is dropped before ``finish()`` closes and removes its file.
    public final class Writer: BlobWriter {
        /// The temporary file.
        public let temporaryPath: String
        private var fd: Int32
        private var hasher = SHA256()
        /// Bytes written so far.
        public private(set) var size: Int64 = 0

        init(path: String, fd: Int32) {
            temporaryPath = path
            self.fd = fd
        }

        deinit {
            if fd >= 0 {
                close(fd)
                unlink(temporaryPath)
            }
        }

        /// Appends `bytes` to the file.
        /// - Throws: ``StoreError`` `resourceExhausted` when the disk is full.
        public func write(_ bytes: [UInt8]) throws {
            precondition(fd >= 0, "write after finish or discard")
            hasher.update(data: bytes)
            try bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = systemWrite(fd, buffer.baseAddress! + offset, buffer.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw Blobs.ioError("cannot write \(temporaryPath)", errno: errno)
                    }
                    offset += written
                }
            }
            size += Int64(bytes.count)
        }

        /// fsyncs and closes the file, off the calling thread.
        /// - Returns: The content's hash and size, ready for ``FolderBlobStore/commit(_:)``.
        public func finish() async throws -> PendingBlob {
            precondition(fd >= 0, "finish after finish or discard")
            let fd = self.fd
            let path = temporaryPath
            let result: Result<Void, StoreError> = await withCheckedContinuation { continuation in
                Blobs.ioQueue.async {
                    if fchmod(fd, 0o444) != 0 {
                        continuation.resume(returning: .failure(Blobs.ioError("cannot chmod \(path)", errno: errno)))
                    } else if fsync(fd) != 0 {
                        continuation.resume(returning: .failure(Blobs.ioError("cannot fsync \(path)", errno: errno)))
                    } else {
                        continuation.resume(returning: .success(()))
                    }
                }
            }
            try result.get()
            close(fd)
            self.fd = -1
            return PendingBlob(handle: temporaryPath, sha256: Blobs.hex(hasher.finalize()), size: size)
        }

        /// Closes and removes the file.
        public func discard() {
            guard fd >= 0 else { return }
            close(fd)
            fd = -1
            unlink(temporaryPath)
        }
    }

    /// Reads a stored blob in chunks, hashing as it goes. Used by one task at a time.
    public final class Reader: BlobReader {
        /// The blob file.
        public let path: String
        /// The recorded hash.
        public let sha256: String
        /// The recorded size.
        public let size: Int64
        /// Bytes read so far.
        public private(set) var offset: Int64 = 0
        private let fd: Int32
        private var hasher = SHA256()
        private var verified = false

        init(path: String, fd: Int32, sha256: String, size: Int64) {
            self.path = path
            self.fd = fd
            self.sha256 = sha256
            self.size = size
        }

        deinit { close(fd) }

        /// Reads the next chunk of at most `maxCount` bytes.
        ///
        /// The chunk that reaches the end is returned only if the whole content matches its
        /// hash, so a caller that stops at the first error never hands out complete but damaged
        /// content.
        /// - Returns: An empty array at the end (the first call on empty content verifies it).
        /// - Throws: ``StoreError`` `dataLoss` when the file is shorter than recorded or the
        ///   content does not match its hash.
        public func read(maxCount: Int) throws -> [UInt8] {
            let count = Int(min(Int64(max(maxCount, 1)), size - offset))
            var chunk: [UInt8] = []
            if count > 0 {
                chunk = [UInt8](repeating: 0, count: count)
                var filled = 0
                try chunk.withUnsafeMutableBytes { buffer in
                    while filled < count {
                        let got = pread(fd, buffer.baseAddress! + filled, count - filled, off_t(offset) + off_t(filled))
                        if got < 0 {
                            if errno == EINTR { continue }
                            throw Blobs.ioError("cannot read \(path)", errno: errno)
                        }
                        if got == 0 {
                            throw StoreError(
                                code: .dataLoss,
                                message: "artifact content \(sha256) is damaged: it ends after \(offset + Int64(filled)) of \(size) bytes"
                            )
                        }
                        filled += got
                    }
                }
                hasher.update(data: chunk)
                offset += Int64(count)
            }
            if offset == size, !verified {
                let actual = Blobs.hex(hasher.finalize())
                guard actual == sha256 else {
                    throw StoreError(
                        code: .dataLoss,
                        message: "artifact content \(sha256) is damaged: its bytes hash to \(actual)"
                    )
                }
                verified = true
            }
            return chunk
        }
    }
}

/// `write(2)`, out of reach of methods named `write`.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, buffer, count)
    #else
    Darwin.write(fd, buffer, count)
    #endif
}
