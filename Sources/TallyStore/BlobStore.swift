public import GRDB

/// The content-addressed artifact folder: `blobs/sha256/ab/cdef…`, one file per distinct content.
public final class BlobStore: Sendable {
    /// The artifact folder.
    public let directory: String

    /// Opens the blob store in `directory` (created if missing).
    public init(directory: String) throws {
        self.directory = directory
    }
}


extension BlobStore {
    /// Removes the blobs among `candidates` that no artifact row references any more. Call it
    /// inside the write transaction that deleted the rows.
    public func removeUnreferenced(_ db: Database, candidates: Set<String>) throws {
        // Placeholder until the blob store lands: nothing is stored yet.
    }
}
