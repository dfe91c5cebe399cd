/// Fields of a new run.
public struct NewRun: Sendable {
    public var experimentID: String?
    public var experimentName: String?
    /// Create the experiment (by name) when it does not exist.
    public var createExperiment: Bool
    public var name: String
    public var tags: [String: String]
    public var parentRunID: String?
    public var params: [String: ParamValueRecord]
    /// A client-made id; nil: the store makes one.
    public var id: String?
    /// Who creates the experiment when ``createExperiment`` does.
    public var experimentCreatedBy: String
    /// Who creates the run: the caller's user (the token's name on TCP), never a client's claim.
    public var createdBy: String

    public init(
        experimentID: String? = nil,
        experimentName: String? = nil,
        createExperiment: Bool = false,
        name: String = "",
        tags: [String: String] = [:],
        parentRunID: String? = nil,
        params: [String: ParamValueRecord] = [:],
        id: String? = nil,
        experimentCreatedBy: String = "",
        createdBy: String = ""
    ) {
        self.createdBy = createdBy
        self.id = id
        self.experimentCreatedBy = experimentCreatedBy
        self.experimentID = experimentID
        self.experimentName = experimentName
        self.createExperiment = createExperiment
        self.name = name
        self.tags = tags
        self.parentRunID = parentRunID
        self.params = params
    }
}
