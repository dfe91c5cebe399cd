/// What ``deleteArtifact(_:blobs:)`` removed.
public struct DeletedArtifact: Sendable {
    /// The version as it was.
    public var artifact: ArtifactRecord
    /// Whether its content blob was removed (no other version referenced it).
    public var blobRemoved: Bool
    package init(artifact: ArtifactRecord, blobRemoved: Bool) { self.artifact = artifact; self.blobRemoved = blobRemoved }
}
