/// What a deletion removed.
public struct Deletion: Sendable, Hashable {
    public var runs: Int64
    public var artifacts: Int64
    /// Content hashes of the deleted artifact versions (candidates for blob removal).
    public var blobCandidates: Set<String>
    package init(runs: Int64, artifacts: Int64, blobCandidates: Set<String>) { self.runs = runs; self.artifacts = artifacts; self.blobCandidates = blobCandidates }
}
