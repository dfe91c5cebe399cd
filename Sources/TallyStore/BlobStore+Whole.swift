public import Foundation

extension BlobStore {
    /// Reads whole content, verifying its size and hash, blocking on I/O.
    /// - Throws: ``StoreError`` `dataLoss` when it is missing or damaged.
    public func readVerified(sha256: String, size: Int64) throws -> Data {
        let reader = try makeReader(sha256: sha256, size: size)
        var data = Data(capacity: Int(size))
        repeat {
            data.append(contentsOf: try reader.read(maxCount: 1 << 20))
        } while !reader.isAtEnd
        if size == 0 { _ = try reader.read(maxCount: 1) }
        return data
    }

    /// Reads whole content on the blob I/O queue, verifying its size and hash.
    /// - Throws: ``StoreError`` `dataLoss` when it is missing or damaged.
    public func read(sha256: String, size: Int64) async throws -> Data {
        let store = Blobs.Handoff(value: self)
        return try await Blobs.offload { try store.value.readVerified(sha256: sha256, size: size) }
    }

    /// Writes `bytes` as pending content, ready for ``StoreEngine/createArtifact(_:content:blobs:)``.
    public func pending(_ bytes: [UInt8]) async throws -> PendingBlob {
        let writer = try makeWriter()
        do {
            try await writer.append(bytes)
            return try await writer.finish()
        } catch {
            writer.discard()
            throw error
        }
    }
}
