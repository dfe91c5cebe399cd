/// Where artifact content lives, addressed by its lower-case hex SHA-256: the folder of
/// ``FolderBlobStore``, or any other place (an object store) that implements these operations.
///
/// Content goes in in two steps. A ``BlobWriter`` writes and hashes it to a pending place and
/// makes it durable (``BlobWriter/finish()``); ``commit(_:)`` then puts it under its hash. The
/// store engines call ``commit(_:)`` inside the database transaction that records the
/// content, after the insert, and ``remove(sha256:)`` when that transaction rolls back, so that
/// garbage collection (also in write transactions) never races an upload of the same content.
///
/// Every operation may block on I/O: callers run them off the event loops and off the shared
/// pool of Swift tasks, on ``Blobs/offload(_:)`` or a database's own queue.
public protocol BlobStore: Sendable {
    /// Where the blobs are, for people: a folder, a bucket's URL.
    var location: String { get }

    /// Starts writing new content to a pending place.
    /// - Throws: ``StoreError`` when it cannot be created.
    func makeWriter() throws -> any BlobWriter

    /// Puts finished content under its hash, unless the same content is stored already (then the
    /// pending copy is dropped), durably.
    /// - Returns: `true` when the content was stored now, `false` when it existed already.
    /// - Throws: ``StoreError`` when it cannot be stored; the pending copy is left for
    ///   ``discard(_:)``.
    @discardableResult
    func commit(_ blob: PendingBlob) throws -> Bool

    /// Drops the pending copy of content that will not be stored.
    func discard(_ blob: PendingBlob)

    /// Removes the content of `sha256`, if stored.
    /// - Returns: Whether something was removed.
    @discardableResult
    func remove(sha256: String) -> Bool

    /// Whether content of `sha256` is stored.
    func contains(sha256: String) -> Bool

    /// Opens stored content for reading; the reader checks its size and hash.
    /// - Parameters:
    ///   - sha256: The content's hash, as recorded.
    ///   - size: The content's size, as recorded.
    /// - Throws: ``StoreError`` `dataLoss` when it is missing or its size differs.
    func makeReader(sha256: String, size: Int64) throws -> any BlobReader
}
