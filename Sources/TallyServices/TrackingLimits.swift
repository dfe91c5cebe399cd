/// Size limits of tracking records, enforced with INVALID_ARGUMENT. Documented in
/// docs/tracking.md.
public struct TrackingLimits: Sendable, Hashable {
    /// Longest experiment or run name, in characters.
    public var maxNameLength = 256
    /// Longest experiment description, in bytes.
    public var maxDescriptionBytes = 65_536
    /// Longest tag, param or metric key, in characters.
    public var maxKeyLength = 250
    /// Longest tag value, in characters.
    public var maxTagValueLength = 5_000
    /// Longest string param value, in characters.
    public var maxParamValueLength = 6_000
    /// Most tags on one record.
    public var maxTags = 100
    /// Most params in one request.
    public var maxParamsPerRequest = 1_000
    /// Most points in one metric batch.
    public var maxPointsPerBatch = 1_000_000
    /// Most distinct keys in one metric batch.
    public var maxKeysPerBatch = 10_000
    /// Longest artifact name, in characters.
    public var maxArtifactNameLength = 512
    /// Most files in one folder artifact.
    public var maxArtifactFiles = 100_000
    /// Longest path of a file inside a folder artifact, in characters.
    public var maxArtifactFilePathLength = 1_024

    /// The defaults.
    public init() {}
}
