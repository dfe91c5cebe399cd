/// The aggregate metrics of one model over its results (definitions in ``MetricsCalculator``).
public struct ModelMetrics: Sendable, Hashable, Codable {
    /// The model's name.
    public var model: String
    /// Results, errors included.
    public var total: Int
    /// Results with a prediction.
    public var evaluated: Int
    /// Results that failed.
    public var errors: Int
    /// Correct results over all results.
    public var accuracy: Double
    /// Mean confidence over all results (0 for errors).
    public var averageConfidence: Double
    /// Mean latency over all results.
    public var averageLatencyMs: Double
    /// Median latency (nearest rank).
    public var p50LatencyMs: Double
    /// 95th-percentile latency (nearest rank).
    public var p95LatencyMs: Double
    /// `{actual: {predicted: count}}`; failed results are predicted ``MetricsCalculator/errorLabel``.
    public var confusion: [String: [String: Int]]
    /// Precision, recall, F1 and support of every label.
    public var perLabel: [String: LabelMetrics]
    /// The unweighted mean F1 over the labels that occur.
    public var macroF1: Double
    /// The support-weighted mean F1.
    public var weightedF1: Double
    /// Expected calibration error over ``reliability``.
    public var expectedCalibrationError: Double
    /// Ten equal-width confidence bins.
    public var reliability: [CalibrationBin]

    /// Creates metrics.
    public init(
        model: String, total: Int, evaluated: Int, errors: Int, accuracy: Double, averageConfidence: Double,
        averageLatencyMs: Double, p50LatencyMs: Double, p95LatencyMs: Double, confusion: [String: [String: Int]],
        perLabel: [String: LabelMetrics], macroF1: Double, weightedF1: Double, expectedCalibrationError: Double,
        reliability: [CalibrationBin]
    ) {
        self.model = model
        self.total = total
        self.evaluated = evaluated
        self.errors = errors
        self.accuracy = accuracy
        self.averageConfidence = averageConfidence
        self.averageLatencyMs = averageLatencyMs
        self.p50LatencyMs = p50LatencyMs
        self.p95LatencyMs = p95LatencyMs
        self.confusion = confusion
        self.perLabel = perLabel
        self.macroF1 = macroF1
        self.weightedF1 = weightedF1
        self.expectedCalibrationError = expectedCalibrationError
        self.reliability = reliability
    }
}
