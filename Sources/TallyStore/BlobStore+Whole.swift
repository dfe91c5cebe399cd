public import Foundation

extension BlobStore {
    /// Reads a whole blob, verifying its size and hash.
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

    /// Writes `bytes` to a pending blob, ready for ``Store/createArtifact(_:content:blobs:)``.
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
