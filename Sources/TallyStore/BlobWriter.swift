/// Writes one piece of content for a ``BlobStore``, hashing it as it goes. Used by one task at
/// a time; one dropped before ``finish()`` leaves nothing behind.
public protocol BlobWriter: AnyObject {
    /// Bytes written so far.
    var size: Int64 { get }

    /// Appends `bytes`, blocking on I/O (``append(_:)`` runs it off the caller's thread).
    /// - Throws: ``StoreError`` `resourceExhausted` when the space is full.
    func write(_ bytes: [UInt8]) throws

    /// Makes what was written durable, off the calling thread.
    /// - Returns: The content's hash and size, ready for ``BlobStore/commit(_:)``.
    func finish() async throws -> PendingBlob

    /// Drops what was written.
    func discard()
}

extension BlobWriter {
    /// Appends `bytes` on the blob I/O queue.
    /// - Throws: ``StoreError`` `resourceExhausted` when the space is full.
    public func append(_ bytes: [UInt8]) async throws {
        let writer = Blobs.Handoff(value: self)
        try await Blobs.offload { try writer.value.write(bytes) }
    }
}
