/// Fields of a new experiment.
public struct NewExperiment: Sendable {
    public var name: String
    public var description: String
    public var tags: [String: String]
    public var createdBy: String
    public var metricGoals: [String: Int]

    public init(name: String, description: String = "", tags: [String: String] = [:], createdBy: String = "", metricGoals: [String: Int] = [:]) {
        self.name = name
        self.description = description
        self.tags = tags
        self.createdBy = createdBy
        self.metricGoals = metricGoals
    }
}
