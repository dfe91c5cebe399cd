/// The content-addressed artifact folder: `blobs/sha256/ab/cdef…`, one file per distinct content.
public final class BlobStore: Sendable {
    /// The artifact folder.
    public let directory: String

    /// Opens the blob store in `directory` (created if missing).
    public init(directory: String) throws {
        self.directory = directory
    }
}
