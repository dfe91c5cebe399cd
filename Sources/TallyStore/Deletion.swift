/// What a deletion removed.
public struct Deletion: Sendable, Hashable {
    public var runs: Int64
    public var artifacts: Int64
    /// Content hashes of the deleted artifact versions (candidates for blob removal).
    public var blobCandidates: Set<String>
}
