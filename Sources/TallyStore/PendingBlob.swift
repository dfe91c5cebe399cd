/// Content written and made durable by a ``BlobWriter``, waiting for
/// ``BlobStore/commit(_:)`` or ``BlobStore/discard(_:)``.
public struct PendingBlob: Sendable, Hashable {
    /// Where the ``BlobStore`` that wrote it keeps it until then (a temporary file, an upload's
    /// key): meaningful to that store only.
    public var handle: String
    /// Lower-case hex SHA-256 of the content.
    public var sha256: String
    /// Bytes written.
    public var size: Int64

    public init(handle: String, sha256: String, size: Int64) {
        self.handle = handle
        self.sha256 = sha256
        self.size = size
    }
}
