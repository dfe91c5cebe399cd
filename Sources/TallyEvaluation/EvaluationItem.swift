/// One message of a dataset with its true label.
public struct EvaluationItem: Sendable, Hashable, Codable {
    /// The item's identifier, unique within the dataset.
    public var id: String
    /// The message to classify.
    public var text: String
    /// The true label: a ``LabelDefinition/id``.
    public var label: String

    /// Creates an item.
    public init(id: String, text: String, label: String) {
        self.id = id
        self.text = text
        self.label = label
    }
}
