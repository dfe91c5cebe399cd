/// A classifier's validated answer for one item.
public struct Prediction: Sendable, Hashable {
    /// The predicted label's ``LabelDefinition/id``.
    public var label: String
    /// The model's confidence in `label`, in 0...1.
    public var confidence: Double
    /// The model's one-sentence reasoning (may be empty).
    public var reasoning: String
    /// The other label ids the model considered, in its order (unknown names are dropped).
    public var alternatives: [String]
    /// The model's confidence in each alternative, by id, when it gave one.
    public var alternativeConfidence: [String: Double]

    /// Creates a prediction.
    public init(
        label: String, confidence: Double, reasoning: String = "", alternatives: [String] = [],
        alternativeConfidence: [String: Double] = [:]
    ) {
        self.label = label
        self.confidence = confidence
        self.reasoning = reasoning
        self.alternatives = alternatives
        self.alternativeConfidence = alternativeConfidence
    }
}
