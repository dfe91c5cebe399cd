/// Precision, recall and F1 of one label (see ``MetricsCalculator``).
public struct LabelMetrics: Sendable, Hashable, Codable {
    /// Correct predictions of the label over all predictions of it; 0 when it was never predicted.
    public var precision: Double
    /// Correct predictions of the label over its support; 0 when the support is 0.
    public var recall: Double
    /// The harmonic mean of precision and recall; 0 when both are 0.
    public var f1: Double
    /// How many results have this label as their true label.
    public var support: Int

    /// Creates label metrics.
    public init(precision: Double, recall: Double, f1: Double, support: Int) {
        self.precision = precision
        self.recall = recall
        self.f1 = f1
        self.support = support
    }
}
