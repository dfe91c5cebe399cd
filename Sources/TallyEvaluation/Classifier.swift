/// A classifier backend: asks a model for one item's label.
///
/// Implementations enforce `timeout` themselves and honor task cancellation. They throw
/// ``EvaluationError`` for every failure of the backend or of its reply, and `CancellationError`
/// when cancelled. The codes drive the runner: `.unreachable` means no contact with the provider,
/// `.timeout` is neutral, every other code means the provider answered.
public protocol Classifier: Sendable {
    /// Classifies `item` into one of `labels`.
    /// - Parameters:
    ///   - item: The item; its `label` must not be shown to the model.
    ///   - labels: The label set; the reply must name one of them.
    ///   - model: The model name passed to the backend.
    ///   - prompt: The rendered prompt (see ``PromptTemplate/render(_:item:labels:)``).
    ///   - timeout: The limit of this one attempt.
    func classify(_ item: EvaluationItem, labels: [LabelDefinition], model: String, prompt: String, timeout: Duration) async throws -> Prediction
}
