/// Changes to an experiment; `nil` fields keep their value.
public struct ExperimentUpdate: Sendable {
    public var name: String?
    public var description: String?
    /// When set, the tags become exactly these.
    public var tags: [String: String]?
    /// Goals to set; 0 removes a goal.
    public var metricGoals: [String: Int]

    public init(name: String? = nil, description: String? = nil, tags: [String: String]? = nil, metricGoals: [String: Int] = [:]) {
        self.name = name
        self.description = description
        self.tags = tags
        self.metricGoals = metricGoals
    }
}
