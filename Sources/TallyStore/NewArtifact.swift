/// Fields of a new artifact version; the content comes separately as a pending blob.
public struct NewArtifact: Sendable {
    /// The run that produced it; the version belongs to the run's experiment.
    public var runID: String
    public var name: String
    /// `tally.v1.ArtifactType` number.
    public var type: Int
    public var metadata: [String: String]
    /// User aliases to point at the new version (validated by the caller).
    public var aliases: [String]
    /// A folder: the content is its manifest, and its files come as pending blobs.
    public var folder = false

    public init(runID: String, name: String, type: Int, metadata: [String: String] = [:], aliases: [String] = []) {
        self.runID = runID
        self.name = name
        self.type = type
        self.metadata = metadata
        self.aliases = aliases
    }
}
