import Crypto
import Foundation
import Synchronization
import TallyStore

/// A ``BlobStore`` shaped like an object store, for the tests that show the services and the
/// store engines need nothing but the protocol: an upload is buffered under a key of its own,
/// `commit` is a put under the content's hash (skipped when the object exists), `remove` a
/// delete. Objects live in memory; every put and delete is counted.
final class ObjectBlobStore: BlobStore {
    private struct State {
        var objects: [String: [UInt8]] = [:]
        var uploads: [String: [UInt8]] = [:]
        var puts = 0
        var deletes = 0
    }

    private let state = Mutex(State())

    var location: String { "memory://objects" }

    /// The stored objects' hashes, sorted.
    var keys: [String] { state.withLock { $0.objects.keys.sorted() } }
    /// Uploads neither committed nor discarded.
    var openUploads: Int { state.withLock { $0.uploads.count } }
    var puts: Int { state.withLock { $0.puts } }
    var deletes: Int { state.withLock { $0.deletes } }

    func makeWriter() throws -> any BlobWriter {
        let key = "upload-" + UUID().uuidString
        state.withLock { $0.uploads[key] = [] }
        return Writer(store: self, key: key)
    }

    @discardableResult
    func commit(_ blob: PendingBlob) throws -> Bool {
        try state.withLock { state in
            guard let bytes = state.uploads.removeValue(forKey: blob.handle) else {
                throw StoreError(code: .notFound, message: "no upload \(blob.handle)")
            }
            guard state.objects[blob.sha256] == nil else { return false }
            state.objects[blob.sha256] = bytes
            state.puts += 1
            return true
        }
    }

    func discard(_ blob: PendingBlob) {
        _ = state.withLock { $0.uploads.removeValue(forKey: blob.handle) }
    }

    @discardableResult
    func remove(sha256: String) -> Bool {
        state.withLock { state in
            guard state.objects.removeValue(forKey: sha256) != nil else { return false }
            state.deletes += 1
            return true
        }
    }

    func contains(sha256: String) -> Bool {
        state.withLock { $0.objects[sha256] != nil }
    }

    func makeReader(sha256: String, size: Int64) throws -> any BlobReader {
        guard let bytes = state.withLock({ $0.objects[sha256] }) else {
            throw StoreError(code: .dataLoss, message: "object \(sha256) is missing")
        }
        guard Int64(bytes.count) == size else {
            throw StoreError(code: .dataLoss, message: "object \(sha256) has \(bytes.count) bytes, \(size) expected")
        }
        return Reader(bytes: bytes, sha256: sha256)
    }

    fileprivate func append(_ bytes: [UInt8], to key: String) {
        state.withLock { $0.uploads[key, default: []] += bytes }
    }

    fileprivate func drop(_ key: String) {
        _ = state.withLock { $0.uploads.removeValue(forKey: key) }
    }

    final class Writer: BlobWriter {
        private let store: ObjectBlobStore
        private let key: String
        private var hasher = SHA256()
        private var finished = false
        private(set) var size: Int64 = 0

        init(store: ObjectBlobStore, key: String) {
            self.store = store
            self.key = key
        }

        deinit {
            if !finished { store.drop(key) }
        }

        func write(_ bytes: [UInt8]) throws {
            hasher.update(data: bytes)
            store.append(bytes, to: key)
            size += Int64(bytes.count)
        }

        func finish() async throws -> PendingBlob {
            finished = true
            return PendingBlob(handle: key, sha256: hasher.finalize().map { String(format: "%02x", $0) }.joined(), size: size)
        }

        func discard() {
            finished = true
            store.drop(key)
        }
    }

    final class Reader: BlobReader {
        let bytes: [UInt8]
        let sha256: String
        var size: Int64 { Int64(bytes.count) }
        private(set) var offset: Int64 = 0

        init(bytes: [UInt8], sha256: String) {
            self.bytes = bytes
            self.sha256 = sha256
        }

        func read(maxCount: Int) throws -> [UInt8] {
            let start = Int(offset)
            let end = min(bytes.count, start + max(maxCount, 1))
            offset = Int64(end)
            return Array(bytes[start..<end])
        }
    }
}
