import Dispatch
public import Foundation

extension BlobStore {
    /// File I/O of blobs runs here, off the callers' threads: neither an event loop nor the
    /// shared pool of Swift tasks (two threads on a two-core machine) waits on a slow disk.
    static let ioQueue = DispatchQueue(label: "tally.blob-io", qos: .userInitiated, attributes: .concurrent)

    /// A value handed to the I/O queue by a caller that waits for the work to end, so that only
    /// one thread touches it at a time.
    struct Handoff<Value>: @unchecked Sendable {
        let value: Value
    }

    /// Runs `body` on the I/O queue and returns its result.
    package static func offload<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            ioQueue.async {
                continuation.resume(with: Result { try body() })
            }
        }
    }

    /// Reads a whole blob on the I/O queue, verifying its size and hash.
    /// - Throws: ``StoreError`` `dataLoss` when it is missing or damaged.
    public func read(sha256: String, size: Int64) async throws -> Data {
        let store = Handoff(value: self)
        return try await Self.offload { try store.value.readVerified(sha256: sha256, size: size) }
    }
}

extension BlobStore.Writer {
    /// Appends `bytes` to the file (hashing them), on the I/O queue.
    /// - Throws: ``StoreError`` `resourceExhausted` when the disk is full.
    public func append(_ bytes: [UInt8]) async throws {
        let writer = BlobStore.Handoff(value: self)
        try await BlobStore.offload { try writer.value.write(bytes) }
    }
}

extension BlobStore.Reader {
    /// Reads the next chunk of at most `maxCount` bytes on the I/O queue (see ``read(maxCount:)``).
    public func next(maxCount: Int) async throws -> [UInt8] {
        let reader = BlobStore.Handoff(value: self)
        return try await BlobStore.offload { try reader.value.read(maxCount: maxCount) }
    }
}
