/// Names one artifact version.
public enum ArtifactReference: Sendable, Hashable {
    /// By the version's id.
    case id(String)
    /// By experiment id, name and version number (1, 2, …).
    case version(experimentID: String, name: String, version: Int)
    /// By experiment id, name and alias; "latest" is the highest version.
    case alias(experimentID: String, name: String, alias: String)
    /// Among the versions of `name` a run logged: a version number, an alias, or "latest"
    /// (its highest version).
    case run(runID: String, name: String, version: Int, alias: String)
}
