/// The outcome of one item for one model.
public struct ItemResult: Sendable, Hashable, Codable {
    /// The item's id.
    public var itemID: String
    /// The first 200 characters of the item's text.
    public var excerpt: String
    /// The true label id.
    public var actual: String
    /// The predicted label id; `nil` when the item failed.
    public var predicted: String?
    /// The model's confidence in `predicted`; 0 when the item failed.
    public var confidence: Double
    /// Milliseconds from the first attempt's start to the outcome, including retries and their
    /// backoff waits.
    public var latencyMs: Double
    /// The model's reasoning; empty when the item failed.
    public var reasoning: String
    /// Other label ids the model considered.
    public var alternatives: [String]
    /// The model's confidence in each alternative, by id, when it gave one.
    public var alternativeConfidence: [String: Double]
    /// Why the item failed (`code: message`); `nil` on success.
    public var error: String?

    /// The length of ``excerpt``.
    public static let excerptLength = 200

    /// Creates a result.
    public init(
        itemID: String,
        excerpt: String,
        actual: String,
        predicted: String?,
        confidence: Double,
        latencyMs: Double,
        reasoning: String = "",
        alternatives: [String] = [],
        alternativeConfidence: [String: Double] = [:],
        error: String? = nil
    ) {
        self.itemID = itemID
        self.excerpt = excerpt
        self.actual = actual
        self.predicted = predicted
        self.confidence = confidence
        self.latencyMs = latencyMs
        self.reasoning = reasoning
        self.alternatives = alternatives
        self.alternativeConfidence = alternativeConfidence
        self.error = error
    }

    /// A successful result for `item`.
    public init(item: EvaluationItem, prediction: Prediction, latencyMs: Double) {
        self.init(
            itemID: item.id, excerpt: Self.excerpt(of: item.text), actual: item.label,
            predicted: prediction.label, confidence: prediction.confidence, latencyMs: latencyMs,
            reasoning: prediction.reasoning, alternatives: prediction.alternatives,
            alternativeConfidence: prediction.alternativeConfidence
        )
    }

    /// A failed (ERROR) result for `item`: no prediction, confidence 0, the reason in `error`.
    public init(item: EvaluationItem, error: EvaluationError, latencyMs: Double) {
        self.init(
            itemID: item.id, excerpt: Self.excerpt(of: item.text), actual: item.label,
            predicted: nil, confidence: 0, latencyMs: latencyMs, error: error.description
        )
    }

    /// Whether the item succeeded with the true label.
    public var isCorrect: Bool { error == nil && predicted == actual }

    /// The first ``excerptLength`` characters of `text`.
    public static func excerpt(of text: String) -> String { String(text.prefix(excerptLength)) }
}
