/// Filters of ``listExperiments(_:)``.
public struct ExperimentQuery: Sendable {
    public var nameContains = ""
    /// "key" or "key=value": at least one must match.
    public var tagsAny: [String] = []
    /// "key" or "key=value": all must match.
    public var tagsAll: [String] = []
    public var createdAfterMs: Int64 = 0
    public var createdBeforeMs: Int64 = 0
    public var updatedAfterMs: Int64 = 0
    public var updatedBeforeMs: Int64 = 0
    public var orderBy = ""
    public var pageSize = 0
    public var pageToken = ""

    public init() {}
}
