/// One class the classifier may answer with.
public struct LabelDefinition: Sendable, Hashable, Codable {
    /// The stable identifier, as stored in ``EvaluationItem/label`` and reported in results.
    public var id: String
    /// A human-readable name; replies may name a label by it (case-insensitively).
    public var name: String
    /// What belongs to this label, shown to the model in the prompt.
    public var description: String

    /// Creates a label.
    public init(id: String, name: String, description: String = "") {
        self.id = id
        self.name = name
        self.description = description
    }
}
